//! The tour (`zxctl` without arguments): a built-in scenario script that walks through what
//! each seed document describes, printing every call with its result, and pictures of the clone
//! tree with each VMO's size, committed and populated bytes.

use crate::script::{run_source, Session};

/// The tour, in the scenario language of `zxctl run` (see `zxctl/examples/README.md`).
const TOUR: &str = r#"
echo == Seed 003 -- a VMO is a sparse array of pages, committed on first write
create v 16k
write v 4k "hello"
read v 4k 5
info v

echo == Seed 002 -- a snapshot shares every page until one side writes; then one frame is copied
child s v snapshot 0 16k
write s 4k "HELLO"
read v 4k 5
read s 4k 5
info v
info s

echo == Seed 002 -- an at-least-on-write child (on anonymous VMOs, exactly a snapshot)
child a v at-least-on-write 0 8k
write v 0 "after the child"
read a 0 15

echo == Seed 002 -- a slice is a window onto its parent's own pages
child w v slice 8k 8k
write w 0 "through the slice"
read v 8k 17

echo == Seeds 000 and 001 -- legacy clones are one-way: the parent's later writes show through
clone c v 0 16k
write v 12k "later"
read c 12k 5
write c 12k "mine!"
write v 12k "again"
read c 12k 5

echo == The family now: hidden snapshot points hold the shared pages, each VMO pays for its own
tree v
frames

echo == Seed 004 (Jinue) -- MCLONE shares a mapping with another process
map m self v 0 16k rw
jinue-create 3 child
mclone 0 3 m base+1m 16k rw shared
poke shared 0 "from the child"
read v 0 14
close s
tree v
frames
"#;

/// Runs the tour, printing as it goes.
pub fn run() -> Result<(), String> {
    let mut session = Session::new(1 << 16)?;
    let stdout = std::io::stdout();
    run_source(TOUR, &mut session, &mut stdout.lock(), false)
        .map_err(|error| format!("the tour failed at {error}"))
}
