//! The `ZX_PROP_NAME` property: at most 31 bytes, always stored NUL-padded to 32.

/// `ZX_MAX_NAME_LEN`: the size of a name including its terminating NUL.
pub const MAX_NAME_LEN: usize = 32;

/// An object name: up to `MAX_NAME_LEN - 1` bytes, NUL-padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name([u8; MAX_NAME_LEN]);

impl Name {
    /// The empty name.
    pub const EMPTY: Name = Name([0; MAX_NAME_LEN]);

    /// `bytes` cut at the first NUL and at 31 bytes (Zircon truncates silently).
    pub fn new(bytes: &[u8]) -> Name {
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(bytes.len())
            .min(MAX_NAME_LEN - 1);
        let mut name = [0; MAX_NAME_LEN];
        name[..end].copy_from_slice(&bytes[..end]);
        Name(name)
    }

    /// The 32 bytes as `zx_object_get_property` returns them.
    pub fn as_bytes(&self) -> &[u8; MAX_NAME_LEN] {
        &self.0
    }

    /// The name without its padding.
    pub fn trimmed(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(MAX_NAME_LEN);
        &self.0[..end]
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::EMPTY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_nul_and_31_bytes() {
        assert_eq!(Name::new(b"abc\0def").trimmed(), b"abc");
        let long = [b'x'; 40];
        assert_eq!(Name::new(&long).trimmed().len(), 31);
        assert_eq!(Name::new(&long).as_bytes()[31], 0);
    }
}
