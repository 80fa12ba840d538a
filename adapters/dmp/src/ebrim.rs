//! Reading ebXML registry objects (ebRIM 3.0), as ITI-41, ITI-18 and ITI-57 carry them:
//! the one way both the DMP's answers and the simulator's checks look inside an object.

use crt_core::xml::Element;

use crate::encode::RIM;

/// The values of the object's slot `name`, trimmed; empty when it has none.
pub fn slot<'a>(object: &'a Element, name: &str) -> Vec<&'a str> {
    object
        .children(RIM, "Slot")
        .find(|s| s.attribute("name") == Some(name))
        .and_then(|s| s.child(RIM, "ValueList"))
        .map(|v| v.children(RIM, "Value").map(|v| v.text.trim()).collect())
        .unwrap_or_default()
}

/// The value of the object's external identifier of scheme `id_scheme`.
pub fn external_id<'a>(object: &'a Element, id_scheme: &str) -> Option<&'a str> {
    object
        .children(RIM, "ExternalIdentifier")
        .find(|e| e.attribute("identificationScheme") == Some(id_scheme))
        .and_then(|e| e.attribute("value"))
}

/// The object's classifications of scheme `class_scheme`.
pub fn classifications<'a>(
    object: &'a Element,
    class_scheme: &'a str,
) -> impl Iterator<Item = &'a Element> {
    object
        .children(RIM, "Classification")
        .filter(move |c| c.attribute("classificationScheme") == Some(class_scheme))
}
