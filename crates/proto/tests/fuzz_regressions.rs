//! Replays every input that once crashed a fuzz target (`fuzz/regressions/`).

use std::path::Path;

use otwatch_core::Proto;

#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut n = 0;
    for p in Proto::ALL {
        let Ok(dir) = std::fs::read_dir(root.join(p.name())) else {
            continue;
        };
        for f in dir.flatten() {
            let data = std::fs::read(f.path()).unwrap();
            otwatch_proto::fuzzing::run(*p, &data);
            n += 1;
        }
    }
    eprintln!("{n} fuzz regression inputs replayed");
}
