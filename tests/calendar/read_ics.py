#!/usr/bin/env python3
"""Reads an iCalendar file (RFC 5545) with the `icalendar` package, a reader that is not
the gateway's, and prints its calendar name and its events as JSON: what a calendar
application would show. Exits 1 when the file does not parse as one VCALENDAR.

Usage: read_ics.py FILE.ics
"""
import json
import sys

import icalendar


def main() -> int:
    with open(sys.argv[1], "rb") as handle:
        data = handle.read()
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as error:
        print(f"not iCalendar: {error}", file=sys.stderr)
        return 1
    if calendar.name != "VCALENDAR":
        print(f"expected a VCALENDAR, got {calendar.name}", file=sys.stderr)
        return 1
    for required in ("VERSION", "PRODID"):
        if required not in calendar:
            print(f"VCALENDAR without {required}", file=sys.stderr)
            return 1
    events = []
    for event in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART"):
            if required not in event:
                print(f"VEVENT without {required}", file=sys.stderr)
                return 1
        events.append(
            {
                "uid": str(event["UID"]),
                "start": event.decoded("DTSTART").isoformat(),
                "end": event.decoded("DTEND").isoformat() if "DTEND" in event else None,
                "summary": str(event.get("SUMMARY", "")),
                "location": str(event.get("LOCATION", "")),
                "description": str(event.get("DESCRIPTION", "")),
                "status": str(event.get("STATUS", "")),
            }
        )
    print(json.dumps({"name": str(calendar.get("X-WR-CALNAME", "")), "events": events}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
