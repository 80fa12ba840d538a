//! XDS metadata of a document.
