//! Reading the C caller's arguments: strings (NUL-terminated or with a length), arrays,
//! UTF-8 text, out-parameters, NULL checks — each failure a [`Fail`] naming the argument.

use std::ffi::{c_char, CStr};

use super::Fail;


/// The largest array or explicit-length string accepted (guards against garbage lengths).
pub(crate) const MAX_ARRAY_LEN: usize = 1 << 20;

/// Borrows a NUL-terminated string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn cstr_arg<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Borrows an explicit-length string argument, rejecting interior NUL bytes.
///
/// # Safety
/// `p` is NULL or points to at least `len` readable bytes.
pub(crate) unsafe fn len_arg<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    if len > MAX_ARRAY_LEN {
        return Err(Fail::arg(format!("{what}: length {len} is above {MAX_ARRAY_LEN}")));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract, len bounded.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Err(Fail::arg(format!("{what} contains a NUL byte at offset {i}")));
    }
    Ok(bytes)
}

/// Borrows an array argument. NULL is accepted only with `n == 0`.
///
/// # Safety
/// `p` is NULL or points to `n` readable, initialised `T`s.
pub(crate) unsafe fn array_arg<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::arg(format!("{what} is NULL but its length is {n}")));
    }
    if n > MAX_ARRAY_LEN {
        return Err(Fail::arg(format!("{what}: length {n} is above {MAX_ARRAY_LEN}")));
    }
    // SAFETY: non-NULL, `n` elements per the caller's contract, n bounded so the byte size
    // fits in isize for any T the ABI uses (pointers, u32).
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Borrows an array of NUL-terminated strings.
///
/// # Safety
/// As [`array_arg`], and every element as [`cstr_arg`].
pub(crate) unsafe fn str_array_arg<'a>(p: *const *const c_char, n: usize, what: &str) -> Result<Vec<&'a [u8]>, Fail> {
    // SAFETY: forwarded contract.
    let ptrs = unsafe { array_arg(p, n, what) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is NULL or a NUL-terminated string per the contract.
        .map(|(i, &s)| unsafe { cstr_arg(s, &format!("{what}[{i}]")) })
        .collect()
}

/// Text that must be UTF-8 (hostnames, ids, user names).
pub(crate) fn utf8_arg<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Fail> {
    std::str::from_utf8(bytes).map_err(|e| Fail::arg(format!("{what} is not valid UTF-8: {e}")))
}

/// Writes an out-parameter (already NULL-checked).
///
/// # Safety
/// `p` is non-NULL, aligned and writable.
pub(crate) unsafe fn put<T>(p: *mut T, v: T) {
    // SAFETY: per the caller's contract.
    unsafe { p.write(v) }
}

/// Text into a caller's buffer, snprintf-style: `*needed` (if not NULL) gets the size with
/// the NUL, `buf` (if not NULL and `len` > 0) as much as fits, NUL-terminated.
///
/// # Safety
/// `needed` is NULL or writable; `buf` is NULL or holds `len` writable bytes.
pub(crate) unsafe fn copy_text_out(text: &str, buf: *mut std::ffi::c_char, len: usize, needed: *mut usize) {
    // SAFETY: per the caller's contract.
    unsafe {
        if !needed.is_null() {
            put(needed, text.len() + 1);
        }
        if !buf.is_null() && len > 0 {
            let n = text.len().min(len - 1);
            std::ptr::copy_nonoverlapping(text.as_bytes().as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
}

/// Fails if `p` is NULL.
pub(crate) fn nonnull<T>(p: *const T, what: &str) -> Result<(), Fail> {
    if p.is_null() {
        Err(Fail::null(what))
    } else {
        Ok(())
    }
}
