//! The kernel layer: turns raw system-call arguments into the engine's typed operations and the
//! engine's errors into each personality's status codes. Handles, rights, koids, signals and
//! processes arrive here with the system-call work; for now it holds the status codes and the
//! mapping every personality shares.

#![no_std]
#![forbid(unsafe_code)]

pub mod status;
