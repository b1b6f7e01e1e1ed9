//! Interned camera and identity strings: one `u32` code per distinct string, with live counts so statistics
//! count only strings some row still carries.

use super::NONE;
use std::collections::HashMap;

/// Interned strings with live counts.
#[derive(Clone, Debug, Default)]
pub(super) struct Interner {
    /// Every string seen, by code.
    pub(super) names: Vec<String>,
    /// The code of each string.
    pub(super) codes: HashMap<String, u32>,
    live: Vec<u64>,
}

impl Interner {
    pub(super) fn intern(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        let code = match self.codes.get(s) {
            Some(&c) => c,
            None => {
                let c = self.names.len() as u32;
                self.names.push(s.to_string());
                self.codes.insert(s.to_string(), c);
                self.live.push(0);
                c
            }
        };
        self.live[code as usize] += 1;
        code
    }

    pub(super) fn release(&mut self, code: u32) {
        if code != NONE {
            self.live[code as usize] -= 1;
        }
    }

    pub(super) fn name(&self, code: u32) -> Option<&str> {
        (code != NONE).then(|| self.names[code as usize].as_str())
    }

    /// Zero live counts for `n` names (snapshot load; [`Interner::count`] then adds each row's code).
    pub(super) fn reset_live(&mut self, n: usize) {
        self.live = vec![0; n];
    }

    /// One more live row carrying `code` (a valid code, not NONE).
    pub(super) fn count(&mut self, code: u32) {
        self.live[code as usize] += 1;
    }

    pub(super) fn distinct_live(&self) -> usize {
        self.live.iter().filter(|&&n| n > 0).count()
    }
}
