//! A scratch root for the account rows: the files `useradd --root` and `chage --root` need, so
//! tests make real shadow entries with shadow-utils without touching the host's /etc.

use std::path::Path;

/// Creates `<dir>/root/etc/{passwd,shadow,group,gshadow}` holding only root, whose password
/// never expires; returns the root's path for `--root` and `--path.rootfs`.
pub fn scratch_root(dir: &Path) -> String {
    let etc = dir.join("root/etc");
    std::fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{}: {e}", etc.display()));
    for (file, text) in [
        ("passwd", "root:x:0:0:root:/root:/bin/bash\n"),
        ("shadow", "root:*:20000:0:99999:7:::\n"),
        ("group", "root:x:0:\n"),
        ("gshadow", "root:*::\n"),
    ] {
        let path = etc.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    dir.join("root").display().to_string()
}
