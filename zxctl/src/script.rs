//! Scenario scripts: a small line language over the system calls, run by `zxctl run FILE`.
//! (The language itself is documented in `zxctl run --help` and `zxctl/examples/README.md`.)
//!
//! One command a line; `#` starts a comment (outside quotes); blank lines are ignored. Each
//! command is one system call (or a look at the kernel's state) made as the script's process,
//! and prints one line: the call, its status and its result. `expect STATUS COMMAND...` runs a
//! command that must fail with exactly that status. Anything else that fails stops the script
//! with `line N: ...`. Output names handles by the script's names and addresses relative to the
//! root VMAR's base, so it is the same on every run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use vm_engine::FrameSource;
use vm_kernel::jinue::{Errno, MCloneArgs};
use vm_kernel::rights::SAME_RIGHTS;
use vm_kernel::status::*;
use vm_kernel::zircon::*;
use vm_kernel::{
    HandleValue, Kernel, Name, Object, Process, Rights, UserBuffer, UserBytes, VmoObject,
};
use zircon::{HostPlatform, MemfdFrames};

/// The largest buffer one `read`, `peek`, `write` or `poke` moves (16 MiB).
const MAX_TRANSFER: u64 = 16 << 20;

/// What a script runs in: a kernel of its own, the process the script's calls are made as, and
/// the names the script gave its handles.
pub struct Session {
    pub kernel: Kernel<HostPlatform>,
    pub process: Arc<Process<HostPlatform>>,
    /// Handles by the script's names (`self` and `self.vmar` are the script's own process and
    /// root VMAR; `process P` adds `P` and `P.vmar`).
    pub names: BTreeMap<String, HandleValue>,
    /// The handle to the default job (for `process`).
    pub job: HandleValue,
    /// Names closed by `close`: still resolve to their (now dead) handle value, so a script can
    /// show what using a closed handle does.
    closed: BTreeMap<String, HandleValue>,
    /// Mapping variables (`map`, `mclone ... VAR`).
    maps: BTreeMap<String, MapVar>,
    /// Handles the script holds without a name, for processes only Jinue descriptors named.
    hidden: Vec<(Arc<Process<HostPlatform>>, HandleValue, HandleValue)>,
}

/// A range of some process's address space the script named.
#[derive(Clone)]
struct MapVar {
    /// Process handle (for `peek` / `poke`) and how to print it.
    process: (HandleValue, String),
    /// Root VMAR handle (for `unmap`) and how to print it.
    vmar: (HandleValue, String),
    addr: u64,
    len: u64,
}

impl Session {
    /// A fresh kernel (frames limited to `frame_limit`) with one process.
    pub fn new(frame_limit: usize) -> Result<Self, String> {
        let frames = MemfdFrames::with_limit(frame_limit)
            .map_err(|error| format!("cannot create the frame file: {error:?}"))?;
        let kernel = Kernel::new(Arc::new(frames));
        let (process, job, vmar) = kernel
            .boot_process(Name::new(b"script"))
            .map_err(|status| format!("cannot start a process: status {status}"))?;
        let own = kernel
            .handles()
            .add(
                &process,
                Object::Process(process.clone()),
                Rights::DEFAULT_PROCESS,
            )
            .map_err(|status| format!("cannot start a process: status {status}"))?;
        let mut names = BTreeMap::new();
        names.insert("self".to_string(), own);
        names.insert("self.vmar".to_string(), vmar);
        let hidden = vec![(process.clone(), own, vmar)];
        Ok(Session {
            kernel,
            process,
            names,
            job,
            closed: BTreeMap::new(),
            maps: BTreeMap::new(),
            hidden,
        })
    }

    /// The VMOs the script holds, by name.
    pub fn vmos(&self) -> Vec<(String, Arc<VmoObject<HostPlatform>>)> {
        self.names
            .iter()
            .filter_map(|(name, &handle)| {
                match self.kernel.syscalls(&self.process).lookup(handle) {
                    Ok((Object::Vmo(vmo), _)) => Some((name.clone(), vmo)),
                    _ => None,
                }
            })
            .collect()
    }

    /// The handle a script name stands for (a closed name still gives its old value).
    fn handle(&self, name: &str) -> Result<HandleValue, String> {
        self.names
            .get(name)
            .or_else(|| self.closed.get(name))
            .copied()
            .ok_or_else(|| format!("no handle is named `{name}`"))
    }

    /// Binds a new name (which must be free) to `handle`.
    fn bind(&mut self, name: &str, handle: HandleValue) {
        self.closed.remove(name);
        self.names.insert(name.to_string(), handle);
    }

    /// Process and root-VMAR handles for `process`, made on first use for a process the script
    /// reached only through a Jinue descriptor.
    fn handles_for(
        &mut self,
        process: &Arc<Process<HostPlatform>>,
    ) -> Result<(HandleValue, HandleValue), String> {
        if let Some((_, p, v)) = self.hidden.iter().find(|(p, _, _)| Arc::ptr_eq(p, process)) {
            return Ok((*p, *v));
        }
        let handles = self.kernel.handles();
        let p = handles
            .add(
                &self.process,
                Object::Process(process.clone()),
                Rights::DEFAULT_PROCESS,
            )
            .map_err(|s| format!("cannot hold a handle to the process: {}", status_name(s)))?;
        let v = handles
            .add(
                &self.process,
                Object::Vmar(process.root_vmar().clone()),
                Rights::DEFAULT_VMAR,
            )
            .map_err(|s| format!("cannot hold a handle to the VMAR: {}", status_name(s)))?;
        self.hidden.push((process.clone(), p, v));
        Ok((p, v))
    }

    /// The process the script's Jinue descriptor `fd` names, if it is open.
    fn jinue_target(&self, fd: usize) -> Option<Arc<Process<HostPlatform>>> {
        use vm_kernel::jinue::descriptors::Target;
        let table = self.process.descriptors().lock();
        match &table.get(fd)?.target {
            Target::SelfProcess => Some(self.process.clone()),
            Target::Process(process) => Some(process.clone()),
        }
    }

    fn base(&self) -> u64 {
        self.kernel.user_range().0
    }
}

/// A script's failure: the line (1-based) and what went wrong there.
#[derive(Debug)]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The Zircon status names, by value.
const ZX_STATUSES: &[(Status, &str)] = &[
    (ZX_OK, "ZX_OK"),
    (ZX_ERR_INTERNAL, "ZX_ERR_INTERNAL"),
    (ZX_ERR_NOT_SUPPORTED, "ZX_ERR_NOT_SUPPORTED"),
    (ZX_ERR_NO_RESOURCES, "ZX_ERR_NO_RESOURCES"),
    (ZX_ERR_NO_MEMORY, "ZX_ERR_NO_MEMORY"),
    (ZX_ERR_INVALID_ARGS, "ZX_ERR_INVALID_ARGS"),
    (ZX_ERR_BAD_HANDLE, "ZX_ERR_BAD_HANDLE"),
    (ZX_ERR_WRONG_TYPE, "ZX_ERR_WRONG_TYPE"),
    (ZX_ERR_BAD_SYSCALL, "ZX_ERR_BAD_SYSCALL"),
    (ZX_ERR_OUT_OF_RANGE, "ZX_ERR_OUT_OF_RANGE"),
    (ZX_ERR_BUFFER_TOO_SMALL, "ZX_ERR_BUFFER_TOO_SMALL"),
    (ZX_ERR_BAD_STATE, "ZX_ERR_BAD_STATE"),
    (ZX_ERR_TIMED_OUT, "ZX_ERR_TIMED_OUT"),
    (ZX_ERR_SHOULD_WAIT, "ZX_ERR_SHOULD_WAIT"),
    (-23, "ZX_ERR_CANCELED"),
    (ZX_ERR_NOT_FOUND, "ZX_ERR_NOT_FOUND"),
    (ZX_ERR_ALREADY_EXISTS, "ZX_ERR_ALREADY_EXISTS"),
    (ZX_ERR_UNAVAILABLE, "ZX_ERR_UNAVAILABLE"),
    (ZX_ERR_ACCESS_DENIED, "ZX_ERR_ACCESS_DENIED"),
];

/// The Jinue error names.
const JINUE_ERRNOS: &[(Errno, &str)] = &[
    (Errno::NoMemory, "JINUE_ENOMEM"),
    (Errno::NoSys, "JINUE_ENOSYS"),
    (Errno::Invalid, "JINUE_EINVAL"),
    (Errno::Again, "JINUE_EAGAIN"),
    (Errno::BadDescriptor, "JINUE_EBADF"),
    (Errno::Io, "JINUE_EIO"),
    (Errno::Permission, "JINUE_EPERM"),
];

fn status_name(status: Status) -> String {
    ZX_STATUSES
        .iter()
        .find(|(value, _)| *value == status)
        .map_or_else(|| format!("status {status}"), |(_, name)| name.to_string())
}

fn errno_name(errno: Errno) -> String {
    JINUE_ERRNOS
        .iter()
        .find(|(value, _)| *value == errno)
        .map_or_else(
            || format!("errno {}", errno as usize),
            |(_, n)| n.to_string(),
        )
}

fn is_known_status(name: &str) -> bool {
    ZX_STATUSES.iter().any(|(_, n)| *n == name) || JINUE_ERRNOS.iter().any(|(_, n)| *n == name)
}

/// One token of a line: a bare word, or a quoted string (already unescaped and repeated).
#[derive(Debug)]
enum Token {
    Word(String),
    Bytes(Vec<u8>),
}

impl Token {
    fn word(&self) -> Option<&str> {
        match self {
            Token::Word(word) => Some(word),
            Token::Bytes(_) => None,
        }
    }
}

/// Splits a line into tokens: whitespace separates, `"..."` quotes (escapes `\n \t \r \0 \\ \"
/// \xHH`, an optional `*COUNT` after the closing quote repeats it), `#` outside quotes ends
/// the line.
fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '#' {
            break;
        }
        if first == '"' {
            chars.next();
            let mut bytes = Vec::new();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        let escaped = chars.next().ok_or("a `\\` ends the line")?;
                        match escaped {
                            'n' => bytes.push(b'\n'),
                            't' => bytes.push(b'\t'),
                            'r' => bytes.push(b'\r'),
                            '0' => bytes.push(0),
                            '\\' => bytes.push(b'\\'),
                            '"' => bytes.push(b'"'),
                            'x' => {
                                let hex: String = chars.by_ref().take(2).collect();
                                let byte = (hex.len() == 2)
                                    .then(|| u8::from_str_radix(&hex, 16).ok())
                                    .flatten()
                                    .ok_or_else(|| format!("bad escape `\\x{hex}`"))?;
                                bytes.push(byte);
                            }
                            other => return Err(format!("unknown escape `\\{other}`")),
                        }
                    }
                    other => {
                        let mut buffer = [0u8; 4];
                        bytes.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
                    }
                }
            }
            if !closed {
                return Err("a quoted string is not closed".into());
            }
            let mut suffix = String::new();
            while chars.peek().is_some_and(|c| !c.is_whitespace()) {
                suffix.extend(chars.next());
            }
            if !suffix.is_empty() {
                let count = suffix
                    .strip_prefix('*')
                    .ok_or_else(|| format!("unexpected `{suffix}` after a quoted string"))?;
                let count = parse_number(count)?;
                let total = (bytes.len() as u64).checked_mul(count);
                if total.is_none_or(|total| total > MAX_TRANSFER) {
                    return Err(format!(
                        "a string repeated to more than {MAX_TRANSFER} bytes"
                    ));
                }
                bytes = bytes.repeat(count as usize);
            }
            tokens.push(Token::Bytes(bytes));
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            if c == '"' {
                return Err(format!("a quote inside the word `{word}`"));
            }
            word.push(c);
            chars.next();
        }
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// A number: decimal or `0x` hexadecimal, with an optional suffix `k`, `m`, `g` or `t`
/// (powers of 1024); several joined by `+` are added (`4k+3`).
fn parse_number(text: &str) -> Result<u64, String> {
    if text.contains('+') {
        let mut sum = 0u64;
        for term in text.split('+') {
            sum = sum
                .checked_add(parse_term(term)?)
                .ok_or_else(|| format!("`{text}` is too large"))?;
        }
        return Ok(sum);
    }
    parse_term(text)
}

/// One term of [`parse_number`].
fn parse_term(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a number");
    let lower = text.to_ascii_lowercase();
    // Hexadecimal digits include no k, m, g or t, so a suffix is never a digit.
    let (body, shift) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 10),
        Some(b'm') => (&lower[..lower.len() - 1], 20),
        Some(b'g') => (&lower[..lower.len() - 1], 30),
        Some(b't') => (&lower[..lower.len() - 1], 40),
        _ => (&lower[..], 0),
    };
    let value = if let Some(hex) = body.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        u64::from_str_radix(hex, 16).map_err(|_| format!("`{text}` is too large"))?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        body.parse::<u64>()
            .map_err(|_| format!("`{text}` is too large"))?
    };
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Bytes as a script shows them: `"text"` if printable, else `hex:...`; long ones cut after
/// 64 bytes; all-zero ones as a count.
fn show_bytes(bytes: &[u8]) -> String {
    if bytes.len() > 8 && bytes.iter().all(|&b| b == 0) {
        return format!("{} zero bytes", bytes.len());
    }
    let shown = &bytes[..bytes.len().min(64)];
    let mut text = if shown.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        let mut quoted = String::from("\"");
        for &b in shown {
            match b {
                b'"' => quoted.push_str("\\\""),
                b'\\' => quoted.push_str("\\\\"),
                _ => quoted.push(b as char),
            }
        }
        quoted.push('"');
        quoted
    } else {
        let mut hex = String::from("hex:");
        for b in shown {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    };
    if bytes.len() > shown.len() {
        text.push_str(&format!(" ... ({} bytes)", bytes.len()));
    }
    text
}

/// What one command did, for the report.
struct Step {
    command: String,
    /// The call as made, with the script's names.
    call: String,
    /// Status name (`None` for commands that make no call).
    status: Option<String>,
    /// Text shown after a successful call.
    text: String,
    /// Fields for `--json`.
    fields: Map<String, Value>,
    /// Lines printed after the step (`tree`).
    block: Option<String>,
}

impl Step {
    fn new(command: &str, call: String) -> Self {
        Step {
            command: command.to_string(),
            call,
            status: None,
            text: String::new(),
            fields: Map::new(),
            block: None,
        }
    }

    fn ok(&self) -> bool {
        matches!(self.status.as_deref(), None | Some("ZX_OK") | Some("0"))
    }

    fn zx<T>(mut self, result: &Result<T, Status>) -> Self {
        self.status = Some(match result {
            Ok(_) => "ZX_OK".to_string(),
            Err(status) => status_name(*status),
        });
        self
    }

    fn jinue(mut self, result: &Result<usize, Errno>) -> Self {
        self.status = Some(match result {
            Ok(value) => value.to_string(),
            Err(errno) => errno_name(*errno),
        });
        self
    }

    fn field(&mut self, key: &str, value: Value) {
        self.fields.insert(key.to_string(), value);
    }
}

/// Arguments of one command, consumed in order.
struct Args<'a> {
    command: &'a str,
    tokens: &'a [Token],
    next: usize,
}

impl<'a> Args<'a> {
    fn usage(&self) -> String {
        let usage = USAGE
            .iter()
            .find(|(name, _)| *name == self.command)
            .map_or("", |(_, usage)| usage);
        format!("usage: {} {usage}", self.command)
    }

    fn word(&mut self) -> Result<&'a str, String> {
        let token = self.tokens.get(self.next).ok_or_else(|| self.usage())?;
        self.next += 1;
        token
            .word()
            .ok_or_else(|| format!("a quoted string where a word belongs; {}", self.usage()))
    }

    fn optional_word(&mut self) -> Result<Option<&'a str>, String> {
        if self.next >= self.tokens.len() {
            return Ok(None);
        }
        self.word().map(Some)
    }

    fn number(&mut self) -> Result<u64, String> {
        parse_number(self.word()?)
    }

    fn data(&mut self) -> Result<Vec<u8>, String> {
        let token = self.tokens.get(self.next).ok_or_else(|| self.usage())?;
        self.next += 1;
        match token {
            Token::Bytes(bytes) => Ok(bytes.clone()),
            Token::Word(word) => {
                let hex = word
                    .strip_prefix("hex:")
                    .ok_or_else(|| format!("data is \"text\" or hex:..., not `{word}`"))?;
                if hex.len() % 2 != 0 || hex.len() as u64 > 2 * MAX_TRANSFER {
                    return Err(format!("bad hex data `{word}`"));
                }
                (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                            .ok_or_else(|| format!("bad hex data `{word}`"))
                    })
                    .collect()
            }
        }
    }

    fn done(&self) -> Result<(), String> {
        if self.next < self.tokens.len() {
            return Err(format!("too many arguments; {}", self.usage()));
        }
        Ok(())
    }
}

/// Each command's arguments, for error messages.
const USAGE: &[(&str, &str)] = &[
    ("create", "NAME SIZE [resizable]"),
    ("mx-create", "NAME SIZE"),
    (
        "child",
        "NAME PARENT snapshot|at-least-on-write|slice OFFSET SIZE [resizable] [no-write]",
    ),
    ("clone", "NAME PARENT OFFSET SIZE [non-resizable]"),
    ("mx-clone", "NAME PARENT OFFSET SIZE"),
    ("close", "NAME"),
    ("dup", "NAME SRC [RIGHTS]"),
    ("write", "NAME OFFSET \"text\"|hex:HEX"),
    ("read", "NAME OFFSET LEN"),
    ("mx-write", "NAME OFFSET \"text\"|hex:HEX"),
    ("mx-read", "NAME OFFSET LEN"),
    ("set-size", "NAME SIZE"),
    ("size", "NAME"),
    ("commit", "NAME OFFSET LEN"),
    ("decommit", "NAME OFFSET LEN"),
    ("zero", "NAME OFFSET LEN"),
    ("info", "NAME"),
    ("tree", "NAME"),
    ("frames", ""),
    ("process", "NAME"),
    ("map", "VAR PROCESS VMO OFFSET LEN r|rw|rx|rwx"),
    ("unmap", "VAR"),
    ("poke", "VAR OFFSET \"text\"|hex:HEX"),
    ("peek", "VAR OFFSET LEN"),
    ("jinue-create", "FD [NAME]"),
    ("jinue-dup", "PROCESS-FD SRC-FD DEST-FD"),
    ("jinue-close", "FD"),
    ("jinue-destroy", "FD"),
    ("mclone", "SRC-FD DEST-FD SRC-ADDR DEST-ADDR LEN PROT [VAR]"),
    ("echo", "TEXT..."),
];

/// A name a script may give: a letter or `_`, then letters, digits, `_` and `-`.
fn check_new_name(session: &Session, name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let good = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !good || name == "self" || name == "base" {
        return Err(format!(
            "`{name}` is not a name a script may give (a letter, then letters, digits, _ or -; \
             not self or base)"
        ));
    }
    if session.names.contains_key(name) || session.maps.contains_key(name) {
        return Err(format!("`{name}` is already in use"));
    }
    Ok(())
}

fn check_len(len: u64) -> Result<usize, String> {
    if len > MAX_TRANSFER {
        return Err(format!(
            "a script moves at most {MAX_TRANSFER} bytes at once"
        ));
    }
    Ok(len as usize)
}

/// `r`, `rw`, `rx`, `rwx`, `w`, `x` (any order) as ZX_VM_PERM_* bits.
fn parse_perms(text: &str) -> Result<(u32, String), String> {
    let mut bits = 0;
    let mut names = Vec::new();
    if text == "none" {
        return Ok((0, "0".into()));
    }
    for c in text.chars() {
        let (bit, name) = match c {
            'r' => (ZX_VM_PERM_READ, "ZX_VM_PERM_READ"),
            'w' => (ZX_VM_PERM_WRITE, "ZX_VM_PERM_WRITE"),
            'x' => (ZX_VM_PERM_EXECUTE, "ZX_VM_PERM_EXECUTE"),
            _ => return Err(format!("permissions are letters r, w, x, not `{text}`")),
        };
        if bits & bit != 0 {
            return Err(format!("`{c}` twice in `{text}`"));
        }
        bits |= bit;
        names.push(name);
    }
    if names.is_empty() {
        return Err("empty permissions".into());
    }
    Ok((bits, names.join("|")))
}

impl Session {
    /// An address as scripts print it: relative to the root VMAR's base when inside.
    fn show_addr(&self, addr: u64) -> String {
        match addr.checked_sub(self.base()) {
            Some(offset) => format!("base+{offset:#x}"),
            None => format!("{addr:#x}"),
        }
    }

    /// `VAR`, `VAR+N`, `base+N` or a number.
    fn parse_addr(&self, text: &str) -> Result<u64, String> {
        let (head, offset) = match text.split_once('+') {
            Some((head, offset)) => (head, parse_number(offset)?),
            None => (text, 0),
        };
        let start = if head == "base" {
            self.base()
        } else if let Some(var) = self.maps.get(head) {
            var.addr
        } else if text.contains('+') {
            return Err(format!("no mapping variable is named `{head}`"));
        } else {
            return parse_number(text);
        };
        start
            .checked_add(offset)
            .ok_or_else(|| format!("`{text}` overflows"))
    }

    fn var(&self, name: &str) -> Result<MapVar, String> {
        self.maps
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no mapping variable is named `{name}`"))
    }

    /// Runs one command (without its `expect`).
    fn execute(&mut self, tokens: &[Token]) -> Result<Step, String> {
        let command = tokens
            .first()
            .and_then(Token::word)
            .ok_or("a line starts with a command")?;
        let mut args = Args {
            command,
            tokens,
            next: 1,
        };
        if command == "echo" {
            let mut words = Vec::new();
            for token in &tokens[1..] {
                match token {
                    Token::Word(word) => words.push(word.clone()),
                    Token::Bytes(bytes) => words.push(String::from_utf8_lossy(bytes).into()),
                }
            }
            let mut step = Step::new(command, String::new());
            step.text = words.join(" ");
            step.field("text", json!(step.text));
            return Ok(step);
        }
        if !USAGE.iter().any(|(name, _)| *name == command) {
            return Err(format!("unknown command `{command}`"));
        }
        let step = match command {
            "create" | "mx-create" => {
                let name = args.word()?;
                let size = args.number()?;
                let resizable = match args.optional_word()? {
                    None => false,
                    Some("resizable") if command == "create" => true,
                    Some(_) => return Err(args.usage()),
                };
                args.done()?;
                check_new_name(self, name)?;
                let calls = self.kernel.syscalls(&self.process);
                let (call, result) = if command == "create" {
                    let options = if resizable { ZX_VMO_RESIZABLE } else { 0 };
                    let shown = if resizable { "ZX_VMO_RESIZABLE" } else { "0" };
                    (
                        format!("zx_vmo_create({size}, {shown})"),
                        calls.vmo_create(size, options),
                    )
                } else {
                    (
                        format!("mx_vmo_create({size}, 0)"),
                        calls.mx_vmo_create(size, 0),
                    )
                };
                self.bound(Step::new(command, call), name, result)
            }
            "child" => {
                let name = args.word()?;
                let parent = args.word()?;
                let kind = args.word()?;
                let offset = args.number()?;
                let size = args.number()?;
                let (mut options, mut shown) = match kind {
                    "snapshot" => (ZX_VMO_CHILD_SNAPSHOT, vec!["ZX_VMO_CHILD_SNAPSHOT"]),
                    "at-least-on-write" => (
                        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                        vec!["ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE"],
                    ),
                    "slice" => (ZX_VMO_CHILD_SLICE, vec!["ZX_VMO_CHILD_SLICE"]),
                    _ => return Err(args.usage()),
                };
                while let Some(flag) = args.optional_word()? {
                    let (bit, flag_name) = match flag {
                        "resizable" => (ZX_VMO_CHILD_RESIZABLE, "ZX_VMO_CHILD_RESIZABLE"),
                        "no-write" => (ZX_VMO_CHILD_NO_WRITE, "ZX_VMO_CHILD_NO_WRITE"),
                        _ => return Err(args.usage()),
                    };
                    options |= bit;
                    shown.push(flag_name);
                }
                check_new_name(self, name)?;
                let handle = self.handle(parent)?;
                let result = self
                    .kernel
                    .syscalls(&self.process)
                    .vmo_create_child(handle, options, offset, size);
                let call = format!(
                    "zx_vmo_create_child({parent}, {}, {offset}, {size})",
                    shown.join("|")
                );
                self.bound(Step::new(command, call), name, result)
            }
            "clone" | "mx-clone" => {
                let name = args.word()?;
                let parent = args.word()?;
                let offset = args.number()?;
                let size = args.number()?;
                let fixed = match args.optional_word()? {
                    None => false,
                    Some("non-resizable") if command == "clone" => true,
                    Some(_) => return Err(args.usage()),
                };
                args.done()?;
                check_new_name(self, name)?;
                let handle = self.handle(parent)?;
                let calls = self.kernel.syscalls(&self.process);
                let (call, result) = if command == "clone" {
                    let mut options = ZX_VMO_CLONE_COPY_ON_WRITE;
                    let mut shown = "ZX_VMO_CLONE_COPY_ON_WRITE".to_string();
                    if fixed {
                        options |= ZX_VMO_CLONE_NON_RESIZEABLE;
                        shown.push_str("|ZX_VMO_CLONE_NON_RESIZEABLE");
                    }
                    (
                        format!("zx_vmo_clone({parent}, {shown}, {offset}, {size})"),
                        calls.vmo_clone(handle, options, offset, size),
                    )
                } else {
                    (
                        format!(
                            "mx_vmo_clone({parent}, MX_VMO_CLONE_COPY_ON_WRITE, {offset}, {size})"
                        ),
                        calls.mx_vmo_clone(
                            handle,
                            vm_kernel::magenta::MX_VMO_CLONE_COPY_ON_WRITE,
                            offset,
                            size,
                        ),
                    )
                };
                self.bound(Step::new(command, call), name, result)
            }
            "close" => {
                let name = args.word()?;
                args.done()?;
                let handle = self.handle(name)?;
                let result = self.kernel.syscalls(&self.process).handle_close(handle);
                if result.is_ok() {
                    if let Some(handle) = self.names.remove(name) {
                        self.closed.insert(name.to_string(), handle);
                    }
                }
                Step::new(command, format!("zx_handle_close({name})")).zx(&result)
            }
            "dup" => {
                let name = args.word()?;
                let source = args.word()?;
                let (rights, shown) = match args.optional_word()? {
                    None | Some("same") => (SAME_RIGHTS, "ZX_RIGHT_SAME_RIGHTS".to_string()),
                    Some(text) => {
                        let value = parse_number(text)?;
                        let value = u32::try_from(value)
                            .map_err(|_| format!("rights `{text}` do not fit 32 bits"))?;
                        (value, format!("{value:#x}"))
                    }
                };
                args.done()?;
                check_new_name(self, name)?;
                let handle = self.handle(source)?;
                let result = self
                    .kernel
                    .syscalls(&self.process)
                    .handle_duplicate(handle, rights);
                let call = format!("zx_handle_duplicate({source}, {shown})");
                self.bound(Step::new(command, call), name, result)
            }
            "write" | "mx-write" => {
                let name = args.word()?;
                let offset = args.number()?;
                let data = args.data()?;
                args.done()?;
                check_len(data.len() as u64)?;
                let handle = self.handle(name)?;
                let calls = self.kernel.syscalls(&self.process);
                let shown = show_bytes(&data);
                if command == "write" {
                    let result = calls.vmo_write(handle, UserBytes::new(&data), offset);
                    let call = format!("zx_vmo_write({name}, {offset}, {shown})");
                    Step::new(command, call).zx(&result)
                } else {
                    let result = calls.mx_vmo_write(handle, UserBytes::new(&data), offset, true);
                    let call = format!("mx_vmo_write({name}, {offset}, {shown})");
                    let mut step = Step::new(command, call).zx(&result);
                    if let Ok(actual) = result {
                        step.text = format!("actual={actual}");
                        step.field("actual", json!(actual));
                    }
                    step
                }
            }
            "read" | "mx-read" => {
                let name = args.word()?;
                let offset = args.number()?;
                let len = check_len(args.number()?)?;
                args.done()?;
                let handle = self.handle(name)?;
                let calls = self.kernel.syscalls(&self.process);
                let mut buffer = vec![0u8; len];
                let (call, result) = if command == "read" {
                    (
                        format!("zx_vmo_read({name}, {offset}, {len})"),
                        calls
                            .vmo_read(handle, UserBuffer::new(&mut buffer), offset)
                            .map(|()| len),
                    )
                } else {
                    (
                        format!("mx_vmo_read({name}, {offset}, {len})"),
                        calls.mx_vmo_read(handle, UserBuffer::new(&mut buffer), offset, true),
                    )
                };
                let mut step = Step::new(command, call).zx(&result);
                if let Ok(actual) = result {
                    let bytes = &buffer[..actual.min(len)];
                    step.text = show_bytes(bytes);
                    if command == "mx-read" {
                        step.text = format!("actual={actual} {}", step.text);
                        step.field("actual", json!(actual));
                    }
                    step.field("data", json!(hex(bytes)));
                }
                step
            }
            "set-size" => {
                let name = args.word()?;
                let size = args.number()?;
                args.done()?;
                let handle = self.handle(name)?;
                let result = self
                    .kernel
                    .syscalls(&self.process)
                    .vmo_set_size(handle, size);
                Step::new(command, format!("zx_vmo_set_size({name}, {size})")).zx(&result)
            }
            "size" => {
                let name = args.word()?;
                args.done()?;
                let handle = self.handle(name)?;
                let result = self.kernel.syscalls(&self.process).vmo_get_size(handle);
                let mut step = Step::new(command, format!("zx_vmo_get_size({name})")).zx(&result);
                if let Ok(size) = result {
                    step.text = size.to_string();
                    step.field("size", json!(size));
                }
                step
            }
            "commit" | "decommit" | "zero" => {
                let name = args.word()?;
                let offset = args.number()?;
                let len = args.number()?;
                args.done()?;
                let handle = self.handle(name)?;
                let (op, op_name) = match command {
                    "commit" => (ZX_VMO_OP_COMMIT, "ZX_VMO_OP_COMMIT"),
                    "decommit" => (ZX_VMO_OP_DECOMMIT, "ZX_VMO_OP_DECOMMIT"),
                    _ => (ZX_VMO_OP_ZERO, "ZX_VMO_OP_ZERO"),
                };
                let result = self.kernel.syscalls(&self.process).vmo_op_range(
                    handle,
                    op,
                    offset,
                    len,
                    UserBuffer::new(&mut []),
                );
                let call = format!("zx_vmo_op_range({name}, {op_name}, {offset}, {len})");
                Step::new(command, call).zx(&result)
            }
            "info" => {
                let name = args.word()?;
                args.done()?;
                let handle = self.handle(name)?;
                let calls = self.kernel.syscalls(&self.process);
                let result = calls.info_record(handle, ZX_INFO_VMO);
                let mut step =
                    Step::new(command, format!("zx_object_get_info({name}, ZX_INFO_VMO)"))
                        .zx(&result);
                if result.is_ok() {
                    if let Ok((Object::Vmo(vmo), rights)) = calls.lookup(handle) {
                        let info = vmo.vmo().info();
                        step.text = format!(
                            "size={} committed={} populated={} children={} mappings={} \
                             rights={:#x}",
                            info.size,
                            info.committed_bytes,
                            info.populated_bytes,
                            info.num_children,
                            info.num_mappings,
                            rights.bits()
                        );
                        step.field("size", json!(info.size));
                        step.field("committed", json!(info.committed_bytes));
                        step.field("populated", json!(info.populated_bytes));
                        step.field("children", json!(info.num_children));
                        step.field("mappings", json!(info.num_mappings));
                        step.field("rights", json!(rights.bits()));
                    }
                }
                step
            }
            "tree" => {
                let name = args.word()?;
                args.done()?;
                let handle = self.handle(name)?;
                let Ok((Object::Vmo(vmo), _)) = self.kernel.syscalls(&self.process).lookup(handle)
                else {
                    return Err(format!("`{name}` is not a live VMO handle"));
                };
                let view = vmo.vmo().family_view();
                let family = vmo.vmo().family_id();
                let mut labels: BTreeMap<usize, String> = BTreeMap::new();
                for (other_name, other) in self.vmos() {
                    if other.vmo().family_id() == family {
                        let id = other.vmo().family_view().this;
                        labels
                            .entry(id)
                            .and_modify(|label| {
                                label.push(',');
                                label.push_str(&other_name);
                            })
                            .or_insert(other_name);
                    }
                }
                let picture = crate::tree::render(&view, &labels, crate::tree::Format::Text);
                let mut step = Step::new(command, format!("tree({name})"));
                step.field("tree", json!(picture));
                step.block = Some(picture);
                step
            }
            "frames" => {
                args.done()?;
                let in_use = self.kernel.frames().frames_in_use();
                let mut step = Step::new(command, "frames in use".into());
                step.text = in_use.to_string();
                step.field("frames", json!(in_use));
                step
            }
            "process" => {
                let name = args.word()?;
                args.done()?;
                check_new_name(self, name)?;
                let result = self.kernel.syscalls(&self.process).process_create(
                    self.job,
                    UserBytes::new(name.as_bytes()),
                    0,
                );
                let mut step = Step::new(command, format!("zx_process_create(job, \"{name}\", 0)"))
                    .zx(&result);
                if let Ok((process, vmar)) = result {
                    self.bind(name, process);
                    self.bind(&format!("{name}.vmar"), vmar);
                    step.text = format!("{name}, {name}.vmar");
                    step.field("handles", json!([name, format!("{name}.vmar")]));
                }
                step
            }
            "map" => {
                let var = args.word()?;
                let process = args.word()?;
                let vmo = args.word()?;
                let offset = args.number()?;
                let len = args.number()?;
                let (perms, shown) = parse_perms(args.word()?)?;
                args.done()?;
                check_new_name(self, var)?;
                let vmar_name = format!("{process}.vmar");
                let vmar = self.handle(&vmar_name)?;
                let process_handle = self.handle(process)?;
                let vmo_handle = self.handle(vmo)?;
                let result = self
                    .kernel
                    .syscalls(&self.process)
                    .vmar_map(vmar, perms, 0, vmo_handle, offset, len);
                let call = format!("zx_vmar_map({vmar_name}, {shown}, 0, {vmo}, {offset}, {len})");
                let mut step = Step::new(command, call).zx(&result);
                if let Ok(addr) = result {
                    let rounded = vm_engine::round_up_to_page(len).unwrap_or(len);
                    self.maps.insert(
                        var.to_string(),
                        MapVar {
                            process: (process_handle, process.to_string()),
                            vmar: (vmar, vmar_name),
                            addr,
                            len: rounded,
                        },
                    );
                    step.text = format!("{var} = {}", self.show_addr(addr));
                    step.field("var", json!(var));
                    step.field("addr", json!(self.show_addr(addr)));
                }
                step
            }
            "unmap" => {
                let name = args.word()?;
                args.done()?;
                let var = self.var(name)?;
                let result = self
                    .kernel
                    .syscalls(&self.process)
                    .vmar_unmap(var.vmar.0, var.addr, var.len);
                if result.is_ok() {
                    self.maps.remove(name);
                }
                let call = format!(
                    "zx_vmar_unmap({}, {}, {})",
                    var.vmar.1,
                    self.show_addr(var.addr),
                    var.len
                );
                Step::new(command, call).zx(&result)
            }
            "poke" => {
                let name = args.word()?;
                let offset = args.number()?;
                let data = args.data()?;
                args.done()?;
                check_len(data.len() as u64)?;
                let var = self.var(name)?;
                let addr = var
                    .addr
                    .checked_add(offset)
                    .ok_or("the address overflows")?;
                let result = self.kernel.syscalls(&self.process).process_write_memory(
                    var.process.0,
                    addr,
                    UserBytes::new(&data),
                );
                let call = format!(
                    "zx_process_write_memory({}, {name}+{offset}, {})",
                    var.process.1,
                    show_bytes(&data)
                );
                let mut step = Step::new(command, call).zx(&result);
                if let Ok(actual) = result {
                    step.text = format!("actual={actual}");
                    step.field("actual", json!(actual));
                }
                step
            }
            "peek" => {
                let name = args.word()?;
                let offset = args.number()?;
                let len = check_len(args.number()?)?;
                args.done()?;
                let var = self.var(name)?;
                let addr = var
                    .addr
                    .checked_add(offset)
                    .ok_or("the address overflows")?;
                let mut buffer = vec![0u8; len];
                let result = self.kernel.syscalls(&self.process).process_read_memory(
                    var.process.0,
                    addr,
                    UserBuffer::new(&mut buffer),
                );
                let call = format!(
                    "zx_process_read_memory({}, {name}+{offset}, {len})",
                    var.process.1
                );
                let mut step = Step::new(command, call).zx(&result);
                if let Ok(actual) = result {
                    let bytes = &buffer[..actual.min(len)];
                    step.text = format!("actual={actual} {}", show_bytes(bytes));
                    step.field("actual", json!(actual));
                    step.field("data", json!(hex(bytes)));
                }
                step
            }
            "jinue-create" => {
                let fd = args.number()?;
                let name = args.optional_word()?;
                args.done()?;
                if let Some(name) = name {
                    check_new_name(self, name)?;
                }
                let fd = usize::try_from(fd).map_err(|_| "a descriptor too large".to_string())?;
                let result = self.kernel.jinue(&self.process).create_process(fd);
                let mut step =
                    Step::new(command, format!("jinue_create_process({fd})")).jinue(&result);
                if let (Ok(_), Some(name)) = (result, name) {
                    let process = self
                        .jinue_target(fd)
                        .ok_or("the new descriptor is not open")?;
                    let (process, vmar) = self.handles_for(&process)?;
                    self.bind(name, process);
                    self.bind(&format!("{name}.vmar"), vmar);
                    step.text = format!("{name}, {name}.vmar");
                    step.field("handles", json!([name, format!("{name}.vmar")]));
                }
                step
            }
            "jinue-dup" => {
                let process = args.number()? as usize;
                let src = args.number()? as usize;
                let dest = args.number()? as usize;
                args.done()?;
                let result = self.kernel.jinue(&self.process).dup(process, src, dest);
                Step::new(command, format!("jinue_dup({process}, {src}, {dest})")).jinue(&result)
            }
            "jinue-close" | "jinue-destroy" => {
                let fd = args.number()? as usize;
                args.done()?;
                let calls = self.kernel.jinue(&self.process);
                let (call, result) = if command == "jinue-close" {
                    (format!("jinue_close({fd})"), calls.close(fd))
                } else {
                    (format!("jinue_destroy({fd})"), calls.destroy(fd))
                };
                Step::new(command, call).jinue(&result)
            }
            "mclone" => {
                let src = args.number()? as usize;
                let dest = args.number()? as usize;
                let src_addr = self.parse_addr(args.word()?)?;
                let dest_addr = self.parse_addr(args.word()?)?;
                let length = args.number()?;
                let prot_text = args.word()?;
                let (prot, prot_shown) = match parse_perms(prot_text) {
                    Ok((bits, _)) => (
                        bits as i32,
                        match prot_text {
                            "none" => "JINUE_PROT_NONE".to_string(),
                            _ => prot_text
                                .chars()
                                .map(|c| match c {
                                    'r' => "JINUE_PROT_READ",
                                    'w' => "JINUE_PROT_WRITE",
                                    _ => "JINUE_PROT_EXEC",
                                })
                                .collect::<Vec<_>>()
                                .join("|"),
                        },
                    ),
                    Err(_) => {
                        let value = parse_number(prot_text)?;
                        let value = i32::try_from(value)
                            .map_err(|_| format!("prot `{prot_text}` does not fit an int"))?;
                        (value, format!("{value:#x}"))
                    }
                };
                let var = args.optional_word()?;
                args.done()?;
                if let Some(var) = var {
                    check_new_name(self, var)?;
                }
                let request = MCloneArgs {
                    src_addr,
                    dest_addr,
                    length,
                    prot,
                };
                let result = self
                    .kernel
                    .jinue(&self.process)
                    .mclone(src, dest, Some(request));
                let call = format!(
                    "jinue_mclone({src}, {dest}, {{src={}, dest={}, length={length}, prot={prot_shown}}})",
                    self.show_addr(src_addr),
                    self.show_addr(dest_addr)
                );
                let mut step = Step::new(command, call).jinue(&result);
                if let (Ok(_), Some(var)) = (result, var) {
                    let process = self
                        .jinue_target(dest)
                        .ok_or("the destination descriptor is not open")?;
                    let (process_handle, vmar) = self.handles_for(&process)?;
                    let label = self
                        .names
                        .iter()
                        .find(|(_, &handle)| handle == process_handle)
                        .map_or_else(|| format!("jinue:{dest}"), |(name, _)| name.clone());
                    self.maps.insert(
                        var.to_string(),
                        MapVar {
                            process: (process_handle, label.clone()),
                            vmar: (vmar, format!("{label}.vmar")),
                            addr: dest_addr,
                            len: length,
                        },
                    );
                    step.text = format!("{var} = {}", self.show_addr(dest_addr));
                    step.field("var", json!(var));
                    step.field("addr", json!(self.show_addr(dest_addr)));
                }
                step
            }
            _ => return Err(format!("unknown command `{command}`")),
        };
        Ok(step)
    }

    /// Binds `name` to the handle a call returned.
    fn bound(&mut self, step: Step, name: &str, result: Result<HandleValue, Status>) -> Step {
        let mut step = step.zx(&result);
        if let Ok(handle) = result {
            self.bind(name, handle);
            step.text = name.to_string();
            step.field("handle", json!(name));
        }
        step
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `source` in `session`, writing each step's report to `out` (text, or one JSON object
/// per line with `json`).
pub fn run_source(
    source: &str,
    session: &mut Session,
    out: &mut dyn Write,
    json: bool,
) -> Result<(), ScriptError> {
    for (index, raw) in source.lines().enumerate() {
        let line = index + 1;
        let fail = |message: String| ScriptError { line, message };
        let tokens = tokenize(raw).map_err(fail)?;
        if tokens.is_empty() {
            continue;
        }
        let (expected, command) = match tokens[0].word() {
            Some("expect") => {
                let status = tokens
                    .get(1)
                    .and_then(Token::word)
                    .ok_or_else(|| fail("usage: expect STATUS COMMAND ...".into()))?;
                if !is_known_status(status) || status == "ZX_OK" {
                    return Err(fail(format!(
                        "`{status}` is not an error status (ZX_ERR_* or JINUE_E*)"
                    )));
                }
                if tokens.len() < 3 {
                    return Err(fail("usage: expect STATUS COMMAND ...".into()));
                }
                (Some(status), &tokens[2..])
            }
            _ => (None, &tokens[..]),
        };
        let step = session.execute(command).map_err(fail)?;
        let status = step.status.clone();
        let met = match (expected, status.as_deref()) {
            (Some(wanted), Some(got)) => Some(wanted == got),
            (Some(_), None) => {
                return Err(fail(format!(
                    "`{}` makes no call, so nothing can be expected of it",
                    step.command
                )))
            }
            (None, _) => None,
        };
        report(out, json, line, &step, expected, met)
            .map_err(|error| fail(format!("cannot write the report: {error}")))?;
        match (expected, met) {
            (Some(wanted), Some(false)) => {
                return Err(fail(format!(
                    "expected {wanted}, but {} returned {}",
                    step.call,
                    status.unwrap_or_default()
                )))
            }
            (None, _) if !step.ok() => {
                return Err(fail(format!(
                    "{} failed: {}",
                    step.call,
                    status.unwrap_or_default()
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes one step.
fn report(
    out: &mut dyn Write,
    json: bool,
    line: usize,
    step: &Step,
    expected: Option<&str>,
    met: Option<bool>,
) -> std::io::Result<()> {
    if json {
        let mut object = Map::new();
        object.insert("line".into(), json!(line));
        object.insert("command".into(), json!(step.command));
        if !step.call.is_empty() {
            object.insert("call".into(), json!(step.call));
        }
        if let Some(status) = &step.status {
            object.insert("status".into(), json!(status));
        }
        if let Some(expected) = expected {
            object.insert("expected".into(), json!(expected));
            object.insert("met".into(), json!(met == Some(true)));
        }
        for (key, value) in &step.fields {
            object.insert(key.clone(), value.clone());
        }
        return writeln!(out, "{}", Value::Object(object));
    }
    if step.command == "echo" {
        return writeln!(out, "{}", step.text);
    }
    let mut text = step.call.clone();
    if let Some(status) = &step.status {
        text.push_str(" = ");
        text.push_str(status);
    }
    if met == Some(true) {
        text.push_str(" (expected)");
    } else if let Some(expected) = expected {
        text.push_str(&format!(" (expected {expected})"));
    }
    if step.ok() && !step.text.is_empty() {
        text.push_str(if step.status.is_some() { " -> " } else { ": " });
        text.push_str(&step.text);
    }
    writeln!(out, "{text}")?;
    if let Some(block) = &step.block {
        for block_line in block.lines() {
            writeln!(out, "    {block_line}")?;
        }
    }
    Ok(())
}

/// `zxctl run FILE`.
pub fn run_file(path: &Path, json: bool) -> Result<(), String> {
    let source = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let mut session = Session::new(1 << 18)?;
    let stdout = std::io::stdout();
    run_source(&source, &mut session, &mut stdout.lock(), json)
        .map_err(|error| format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("4k"), Ok(4096));
        assert_eq!(parse_number("0x10"), Ok(16));
        assert_eq!(parse_number("1M"), Ok(1 << 20));
        assert_eq!(parse_number("2g"), Ok(2 << 30));
        assert_eq!(parse_number("1t"), Ok(1 << 40));
        assert!(parse_number("").is_err());
        assert!(parse_number("k").is_err());
        assert!(parse_number("0x").is_err());
        assert!(parse_number("99999999999999999999").is_err());
        assert!(parse_number("16777216t").is_err());
        assert!(parse_number("-1").is_err());
        assert_eq!(parse_number("4k+3"), Ok(4099));
        assert!(parse_number("4k+").is_err());
    }

    #[test]
    fn tokens() {
        let tokens = tokenize(r#"write a 0 "x\ty\x41"*2 # comment"#).unwrap();
        assert_eq!(tokens.len(), 4);
        assert!(matches!(&tokens[3], Token::Bytes(b) if b == b"x\tyAx\tyA"));
        assert!(tokenize("write a 0 \"open").is_err());
        assert!(tokenize("write a 0 \"\\q\"").is_err());
    }
}
