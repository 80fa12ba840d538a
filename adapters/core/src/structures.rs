//! What a gateway serving several CRTs keeps per structure. The national services know a
//! structure by the certificate it authenticates with (its idNat_Struct in the subject
//! OU), so each adapter holds one client per structure and picks it by the record's
//! structure. The configured ones are loaded at start; the sandbox issues the others on
//! first use.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Values by idNat_Struct, shared between concurrent deliveries.
pub struct ByStructure<T> {
    known: RwLock<HashMap<String, Arc<T>>>,
}

impl<T> Default for ByStructure<T> {
    fn default() -> Self {
        ByStructure {
            known: RwLock::new(HashMap::new()),
        }
    }
}

impl<T> ByStructure<T> {
    /// Adds the value of `id`; `false` (and nothing changed) when `id` already has one, a
    /// configuration naming one structure twice.
    pub fn insert(&self, id: &str, value: T) -> bool {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if known.contains_key(id) {
            return false;
        }
        known.insert(id.to_string(), Arc::new(value));
        true
    }

    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The value of `id`, made by `make` when there is none yet. Two deliveries asking at
    /// once may both make one; the first stored is kept and given to both.
    pub fn get_or_make<E>(
        &self,
        id: &str,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(value) = self.get(id) {
            return Ok(value);
        }
        let value = Arc::new(make()?);
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        Ok(known.entry(id.to_string()).or_insert(value).clone())
    }

    /// The structures known, sorted.
    pub fn ids(&self) -> Vec<String> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<String> = known.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn values(&self) -> Vec<Arc<T>> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structure_has_one_value_whoever_makes_it() {
        let by = ByStructure::default();
        assert!(by.insert("1720004563", 1));
        assert!(!by.insert("1720004563", 2), "named twice");
        let made: Result<_, ()> = by.get_or_make("1720004563", || Ok(3));
        assert_eq!(*made.unwrap(), 1);
        let made: Result<_, ()> = by.get_or_make("1720000025", || Ok(4));
        assert_eq!(*made.unwrap(), 4);
        let failed: Result<Arc<i32>, &str> = by.get_or_make("1720000033", || Err("no"));
        assert_eq!(failed.unwrap_err(), "no");
        assert_eq!(by.ids(), ["1720000025", "1720004563"]);
    }
}
