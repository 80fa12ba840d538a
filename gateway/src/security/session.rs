//! Logins on `/ui/` through Pro Santé Connect: the logins under way (by their `state`) and
//! the open sessions (by a random cookie), kept in memory by the instance that made them.
//!
//! The session cookie is `HttpOnly` and `SameSite=Strict`: the page's script never sees it
//! and another site's page cannot make the browser send it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crt_psc::{LoginRequest, Professional};
use http::HeaderMap;

/// The session cookie's name.
pub const COOKIE: &str = "crt_session";
/// How long a login may take between the redirect to PSC and the return.
const LOGIN_WINDOW: Duration = Duration::from_secs(600);
/// How long a session lasts (PSC's own session lasts 30 minutes without activity).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(1800);
/// Logins under way or sessions kept at most; the oldest half is dropped beyond.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct Sessions {
    pending: Mutex<HashMap<String, (LoginRequest, Instant)>>,
    open: Mutex<HashMap<String, (Professional, Instant)>>,
}

impl Sessions {
    pub fn new() -> Sessions {
        Sessions::default()
    }

    /// A new login, remembered by its `state` until the browser comes back.
    pub fn begin(&self) -> std::io::Result<LoginRequest> {
        let request = LoginRequest::new()?;
        if let Ok(mut pending) = self.pending.lock() {
            pending.retain(|_, (_, at)| at.elapsed() < LOGIN_WINDOW);
            bound(&mut pending);
            pending.insert(request.state.clone(), (request.clone(), Instant::now()));
        }
        Ok(request)
    }

    /// The login `state` names, once: a second return with the same state finds nothing.
    pub fn finish(&self, state: &str) -> Option<LoginRequest> {
        let (request, at) = self.pending.lock().ok()?.remove(state)?;
        (at.elapsed() < LOGIN_WINDOW).then_some(request)
    }

    /// Opens a session for `professional`; the cookie's value.
    pub fn open(&self, professional: Professional) -> std::io::Result<String> {
        let id = crate::digest::random_hex_32()?;
        if let Ok(mut open) = self.open.lock() {
            open.retain(|_, (_, until)| Instant::now() < *until);
            bound(&mut open);
            open.insert(
                id.clone(),
                (professional, Instant::now() + SESSION_LIFETIME),
            );
        }
        Ok(id)
    }

    /// The professional whose session cookie the request carries, while it lasts.
    pub fn of_request(&self, headers: &HeaderMap) -> Option<Professional> {
        let id = cookie(headers)?;
        let open = self.open.lock().ok()?;
        let (professional, until) = open.get(&id)?;
        (Instant::now() < *until).then(|| professional.clone())
    }

    /// Ends the session the request carries, if any.
    pub fn close(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers)
            && let Ok(mut open) = self.open.lock()
        {
            open.remove(&id);
        }
    }
}

fn bound<V>(map: &mut HashMap<String, V>) {
    if map.len() >= MAX_ENTRIES {
        let drop: Vec<String> = map.keys().take(MAX_ENTRIES / 2).cloned().collect();
        for key in drop {
            map.remove(&key);
        }
    }
}

/// The session cookie's value, from the `Cookie` headers.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crt_core::record::Profession;
    use crt_psc::Assurance;

    #[test]
    fn a_login_finishes_once_and_its_session_is_found_by_cookie() {
        let sessions = Sessions::new();
        let login = sessions.begin().unwrap();
        assert_eq!(sessions.finish(&login.state), Some(login.clone()));
        assert_eq!(sessions.finish(&login.state), None);
        let professional = Professional {
            id_nat_ps: "810002345675".into(),
            profession: Profession::Physician,
            specialty: None,
            structures: Vec::new(),
            assurance: Assurance {
                acr: "eidas1".into(),
                mode: "CARD".into(),
            },
        };
        let id = sessions.open(professional.clone()).unwrap();
        let headers = crate::security::test_headers(&[("cookie", &format!("a=b; {COOKIE}={id}"))]);
        assert_eq!(sessions.of_request(&headers), Some(professional));
        sessions.close(&headers);
        assert_eq!(sessions.of_request(&headers), None);
    }
}
