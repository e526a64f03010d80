//! Fallible allocation: running out of memory becomes `ResultCode::NoMemory`, never an abort.

use std::alloc::{Layout, alloc};

use crate::error::{Result, ResultCode};

/// `Box::new(value)`, or `NoMemory` when the allocation fails.
pub(crate) fn try_box<T>(value: T) -> Result<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(value));
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc(layout) }.cast::<T>();
    if p.is_null() {
        return Err(ResultCode::NoMemory);
    }
    // SAFETY: `p` is a fresh allocation with `T`'s layout, written once and owned by the Box,
    // which frees it with the same global allocator and layout.
    unsafe {
        p.write(value);
        Ok(Box::from_raw(p))
    }
}

/// A boxed slice of `len` values made by `f`, or `NoMemory`.
pub(crate) fn try_slice<T>(len: usize, f: impl FnMut(usize) -> T) -> Result<Box<[T]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| ResultCode::NoMemory)?;
    v.extend((0..len).map(f));
    Ok(v.into_boxed_slice())
}

/// `len` values made by `f`, in memory that is never freed (the registry's segments), or
/// `NoMemory`. On Unix whole pages come straight from the kernel: through malloc, a large block
/// gets a header that costs one more page (16 bytes per cell of a 48 KiB segment).
pub(crate) fn try_leak<T>(len: usize, mut f: impl FnMut(usize) -> T) -> Result<&'static mut [T]> {
    #[cfg(all(unix, not(miri)))]
    {
        let size = size_of::<T>()
            .checked_mul(len)
            .ok_or(ResultCode::NoMemory)?;
        assert!(
            align_of::<T>() <= 4096 && size > 0,
            "page-aligned, non-empty"
        );
        // SAFETY: an anonymous private mapping at an address of the kernel's choice; no
        // existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(ResultCode::NoMemory);
        }
        let p = p.cast::<T>();
        for i in 0..len {
            // SAFETY: `p` is page-aligned (so aligned for `T`) and maps `len` values of `T`.
            unsafe { p.add(i).write(f(i)) };
        }
        // SAFETY: all `len` values are written; the mapping is never unmapped, so it lives for
        // the rest of the process, and this is its only reference.
        Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
    }
    #[cfg(not(all(unix, not(miri))))]
    Ok(Box::leak(try_slice(len, f)?))
}
