//! A process's sockets from /proc: which of them listen (TCP LISTEN, unconnected UDP, listening Unix).

use std::collections::BTreeSet;

/// One socket of the process as the kernel's tables show it.
#[derive(Debug)]
pub struct SocketEntry {
    pub table: &'static str,
    pub line: String,
    pub listening: bool,
}

/// The inodes of every socket `pid` holds open (`/proc/<pid>/fd/* → socket:[inode]`).
pub fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let dir = format!("/proc/{pid}/fd");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// Every row of /proc/net/{tcp,tcp6,udp,udp6,unix} whose inode is in `inodes`.
pub fn entries(inodes: &BTreeSet<u64>) -> Vec<SocketEntry> {
    let mut found = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        for (line, fields) in rows(table) {
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(state), Some(inode)) = (fields.get(3), fields.get(9)) else {
                continue;
            };
            if !inodes.contains(&inode.parse().unwrap_or(0)) {
                continue;
            }
            let listening = match table {
                // 0A: TCP_LISTEN.
                "tcp" | "tcp6" => *state == "0A",
                // 07: TCP_CLOSE, i.e. a bound UDP socket with no peer: it receives from anyone.
                _ => *state == "07",
            };
            found.push(SocketEntry {
                table,
                line,
                listening,
            });
        }
    }
    for (line, fields) in rows("unix") {
        // Num RefCount Protocol Flags Type St Inode [Path]
        let (Some(flags), Some(inode)) = (fields.get(3), fields.get(6)) else {
            continue;
        };
        if !inodes.contains(&inode.parse().unwrap_or(0)) {
            continue;
        }
        // __SO_ACCEPTCON (0x10000): a listening socket.
        let listening = u32::from_str_radix(flags, 16).unwrap_or(0) & 0x1_0000 != 0;
        found.push(SocketEntry {
            table: "unix",
            line,
            listening,
        });
    }
    found
}

fn rows(table: &str) -> Vec<(String, Vec<String>)> {
    let path = format!("/proc/net/{table}");
    let Ok(text) = std::fs::read_to_string(&path) else {
        // A kernel without IPv6 has no tcp6/udp6 table.
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .map(|line| {
            let fields = line.split_whitespace().map(str::to_owned).collect();
            (line.trim().to_owned(), fields)
        })
        .collect()
}
