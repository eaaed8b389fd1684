//! The GOST engine (`libengine-gost-openssl`), loaded once through OpenSSL's ENGINE API.
//!
//! OpenSSL 3's `gostprov` provider has no signatures, so GOST R 34.10-2012 goes through the
//! legacy engine: `ENGINE_by_id("gost")` (which loads `gost.so` from `OPENSSL_ENGINES` or the
//! library's engines directory), `ENGINE_init`, then `ENGINE_set_default(ALL)` so that the
//! ordinary EVP calls (key generation by NID, PKCS#8 decoding, Streebog digests, signing and
//! verification) find its methods. The functional reference is kept for the life of the
//! process. `openssl-sys` declares none of the `ENGINE_*` functions, hence the `extern` block;
//! this is the only module of the crate allowed `unsafe` (`#[allow(unsafe_code)]` on its
//! declaration in `lib.rs`).

use std::ffi::{c_char, c_int, c_uint, CString};
use std::sync::OnceLock;

use foreign_types::ForeignTypeRef;
use openssl::pkey_ctx::PkeyCtxRef;

use crate::SignError;

/// `ENGINE_METHOD_ALL` from `<openssl/engine.h>`.
const ENGINE_METHOD_ALL: c_uint = 0xFFFF;

#[repr(C)]
struct Engine {
    _private: [u8; 0],
}

#[repr(C)]
struct EvpPkeyCtx {
    _private: [u8; 0],
}

// libcrypto is linked by `openssl-sys`; these are plain OpenSSL 3.0 exports.
extern "C" {
    fn ENGINE_by_id(id: *const c_char) -> *mut Engine;
    fn ENGINE_init(e: *mut Engine) -> c_int;
    fn ENGINE_set_default(e: *mut Engine, flags: c_uint) -> c_int;
    fn ENGINE_finish(e: *mut Engine) -> c_int;
    fn ENGINE_free(e: *mut Engine) -> c_int;
    fn EVP_PKEY_CTX_ctrl_str(
        ctx: *mut EvpPkeyCtx,
        type_: *const c_char,
        value: *const c_char,
    ) -> c_int;
}

static GOST: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads the engine on first use; later calls return the first outcome.
pub(crate) fn gost() -> Result<(), SignError> {
    GOST.get_or_init(load)
        .clone()
        .map_err(|reason| SignError::new("gost_unavailable", reason))
}

/// Loads the engine (if it can be) before OpenSSL parses any certificate or key: OpenSSL 3
/// decodes a certificate's public key when it parses the certificate and keeps a failure,
/// so a GOST certificate read before the engine is registered stays unusable.
pub(crate) fn prepare() {
    let _ = gost();
}

fn load() -> Result<(), String> {
    openssl::init();
    let id = c"gost";
    // SAFETY: `id` is a valid NUL-terminated string that outlives the call. The result is a
    // structural reference we own (or null), released below on every path.
    let engine = unsafe { ENGINE_by_id(id.as_ptr()) };
    if engine.is_null() {
        return Err(format!(
            "the OpenSSL GOST engine is not installed (ENGINE_by_id(\"gost\") failed: {}); \
             install the Debian package libengine-gost-openssl",
            openssl::error::ErrorStack::get()
        ));
    }
    // SAFETY: `engine` is a non-null structural reference obtained above.
    let initialised = unsafe { ENGINE_init(engine) } == 1;
    if !initialised {
        let reason = openssl::error::ErrorStack::get();
        // SAFETY: releases the structural reference from ENGINE_by_id exactly once.
        unsafe { ENGINE_free(engine) };
        return Err(format!("the GOST engine failed to initialise: {reason}"));
    }
    // SAFETY: `engine` holds a functional reference (ENGINE_init succeeded).
    let defaulted = unsafe { ENGINE_set_default(engine, ENGINE_METHOD_ALL) } == 1;
    if !defaulted {
        let reason = openssl::error::ErrorStack::get();
        // SAFETY: drop the functional then the structural reference, each exactly once.
        unsafe {
            ENGINE_finish(engine);
            ENGINE_free(engine);
        }
        return Err(format!(
            "the GOST engine could not be made the default: {reason}"
        ));
    }
    // SAFETY: releases only the structural reference; the functional reference taken by
    // ENGINE_init is deliberately kept for the life of the process, so the engine stays loaded
    // and registered as the default for its algorithms.
    unsafe { ENGINE_free(engine) };
    Ok(())
}

/// `EVP_PKEY_CTX_ctrl_str(ctx, name, value)`, e.g. `("paramset", "A")` for GOST key generation.
pub(crate) fn ctrl_str<T>(
    ctx: &mut PkeyCtxRef<T>,
    name: &str,
    value: &str,
) -> Result<(), SignError> {
    let bad = |_| SignError::new("crypto_failure", "a control string holds a NUL byte");
    let c_name = CString::new(name).map_err(bad)?;
    let c_value = CString::new(value).map_err(bad)?;
    // SAFETY: `ctx.as_ptr()` is a live EVP_PKEY_CTX borrowed mutably for the call; the strings
    // are NUL-terminated and outlive it. OpenSSL copies what it keeps.
    let ret = unsafe {
        EVP_PKEY_CTX_ctrl_str(
            ctx.as_ptr().cast::<EvpPkeyCtx>(),
            c_name.as_ptr(),
            c_value.as_ptr(),
        )
    };
    if ret > 0 {
        Ok(())
    } else {
        let name = c_name.as_c_str().to_string_lossy();
        Err(SignError::new(
            "crypto_failure",
            format!(
                "setting {name}={value} on a key context failed: {}",
                openssl::error::ErrorStack::get()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn outcome_is_memoised() {
        let first = super::gost().map_err(|e| e.to_string());
        let second = super::gost().map_err(|e| e.to_string());
        assert_eq!(first, second);
    }
}
