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
