//! Transparent huge pages for the memory a graph walk reads at random: the rows and the layer-0 link lists.
//!
//! A query or an insertion touches a few hundred rows scattered over the whole gallery. With 4 KiB pages almost
//! every one of them also misses the TLB and walks the page tables (1 GB of f32 rows is 262,144 pages; the TLB
//! holds a few thousand); with 2 MiB pages the same gigabyte is 512 entries. Linux backs a range with huge pages
//! when asked (`MADV_HUGEPAGE`: needed where `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`, the usual
//! default) and merges the pages already in memory on request (`MADV_COLLAPSE`, Linux 6.1+). Both are hints: the
//! contents never change, and a kernel that refuses them (older, THP `never`, not Linux) only costs the speed-up.

/// Huge page size on x86-64 and 4 KiB-page aarch64; also the smallest range worth advising.
const HUGE: usize = 2 << 20;

/// Asks the kernel to back the whole 2 MiB blocks inside `data` with huge pages, merging those already in memory.
/// Returns whether there was such a block and the kernel took both hints.
pub(crate) fn prefer_huge_pages<T>(data: &[T]) -> bool {
    let start = data.as_ptr() as usize;
    let end = start + std::mem::size_of_val(data);
    let (first, last) = (start.div_ceil(HUGE) * HUGE, end / HUGE * HUGE);
    last > first && advise(first, last - first)
}

#[cfg(target_os = "linux")]
fn advise(at: usize, len: usize) -> bool {
    let mut taken = true;
    /// `MADV_COLLAPSE` from the kernel's asm-generic mman-common.h (25 on every architecture; not in musl's libc
    /// bindings).
    const MADV_COLLAPSE: libc::c_int = 25;
    for (advice, name) in [(libc::MADV_HUGEPAGE, "MADV_HUGEPAGE"), (MADV_COLLAPSE, "MADV_COLLAPSE")] {
        // SAFETY: `at..at + len` lies inside one live allocation (a slice the caller borrows) and is aligned to
        // 2 MiB; both advices keep the contents and the mapping (they change only the page size backing it).
        let rc = unsafe { libc::madvise(at as *mut libc::c_void, len, advice) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, bytes = len, "hnsw: {name} refused (the walk runs on 4 KiB pages)");
            taken = false;
        }
    }
    taken
}

#[cfg(not(target_os = "linux"))]
fn advise(_at: usize, _len: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kilobytes of huge pages in the mapping of this process that contains `address` (`/proc/self/smaps`).
    fn huge_kib_at(address: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let head = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = head.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&address);
                continue;
            }
            if inside && let Some(rest) = line.strip_prefix("AnonHugePages:") {
                return rest.trim().trim_end_matches("kB").trim().parse().ok();
            }
        }
        None
    }

    fn value(i: usize) -> u64 {
        (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn advised_memory_keeps_its_contents_and_is_backed_by_huge_pages() {
        let data: Vec<u64> = (0..3 * HUGE / 8).map(value).collect();
        assert!(!prefer_huge_pages(&data[..10]), "a range without a whole 2 MiB block is left alone");
        assert!(!prefer_huge_pages::<u64>(&[]));
        let taken = prefer_huge_pages(&data);
        assert!(data.iter().enumerate().all(|(i, &v)| v == value(i)), "the contents changed");
        // Where the kernel took the hints (Linux 6.1+ with THP not `never`) the mapping now holds at least one
        // whole huge page; checked on x86-64 only (the aarch64 tests run under qemu-user, which accepts madvise
        // without passing it on).
        let thp_never =
            std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").is_ok_and(|s| s.contains("[never]"));
        if taken && cfg!(target_arch = "x86_64") && !thp_never {
            let kib = huge_kib_at(data.as_ptr() as usize + HUGE).expect("the vector's mapping in /proc/self/smaps");
            assert!(kib >= 2048, "{kib} KiB of huge pages after MADV_COLLAPSE");
        }
    }
}
