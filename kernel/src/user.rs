//! User buffers as a system call receives them. The boundary (the C ABI) decides once whether a
//! pointer and length name memory the caller may use; the kernel layer then sees either valid
//! bytes or "the caller passed `len` bytes at a bad address", and reports the latter as
//! `ZX_ERR_INVALID_ARGS` at the point where Zircon's copy to or from user memory would fault, so
//! that errors found earlier (rights, ranges) still come first.

/// A buffer the kernel writes into.
#[derive(Debug)]
pub struct UserBuffer<'a> {
    len: usize,
    bytes: Option<&'a mut [u8]>,
}

impl<'a> UserBuffer<'a> {
    /// Valid memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        UserBuffer {
            len: bytes.len(),
            bytes: Some(bytes),
        }
    }

    /// `len` bytes at an address the caller may not use (a zero-length one is fine anywhere).
    pub fn invalid(len: usize) -> Self {
        if len == 0 {
            return UserBuffer::new(&mut []);
        }
        UserBuffer { len, bytes: None }
    }

    /// The length the caller claimed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, if the memory is valid.
    pub fn bytes(self) -> Option<&'a mut [u8]> {
        self.bytes
    }
}

/// A buffer the kernel reads from.
#[derive(Debug, Clone, Copy)]
pub struct UserBytes<'a> {
    len: usize,
    bytes: Option<&'a [u8]>,
}

impl<'a> UserBytes<'a> {
    /// Valid memory.
    pub fn new(bytes: &'a [u8]) -> Self {
        UserBytes {
            len: bytes.len(),
            bytes: Some(bytes),
        }
    }

    /// `len` bytes at an address the caller may not use (a zero-length one is fine anywhere).
    pub fn invalid(len: usize) -> Self {
        if len == 0 {
            return UserBytes::new(&[]);
        }
        UserBytes { len, bytes: None }
    }

    /// The length the caller claimed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, if the memory is valid.
    pub fn bytes(self) -> Option<&'a [u8]> {
        self.bytes
    }
}
