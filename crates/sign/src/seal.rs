//! Private keys at rest: PKCS#8 DER sealed with AES-256-GCM.
//!
//! ```text
//! "OTKSEAL" 0x01 kind [argon2: m_cost u32 LE, t_cost u32 LE, p_cost u32 LE, salt 16]
//!   nonce 12 ‖ ciphertext ‖ tag 16          (AAD = every byte before the nonce)
//! ```
//! * kind 1, an authority's key: AES key = HMAC-SHA-256(installation key,
//!   "otklik-sign/authority-seal/v1").
//! * kind 2, a person's key: AES key = Argon2id(password, salt, secret = installation key), so
//!   neither a database dump (no installation key) nor the installation key alone (no
//!   password) opens it.

use argon2::{Argon2, Params, Version};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use zeroize::Zeroizing;

use crate::SignError;

const MAGIC: &[u8; 8] = b"OTKSEAL\x01";
const KIND_INSTALLATION: u8 = 1;
const KIND_PASSWORD: u8 = 2;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP baseline).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Upper bounds accepted when opening, so a crafted blob cannot ask for gigabytes.
const MAX_M_COST: u32 = 1 << 20;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 8;

fn check_installation_key(installation_key: &[u8]) -> Result<(), SignError> {
    if installation_key.is_empty() {
        return Err(SignError::new(
            "bad_installation_key",
            "the installation key is empty",
        ));
    }
    Ok(())
}

fn installation_aes_key(installation_key: &[u8]) -> Result<Zeroizing<Vec<u8>>, SignError> {
    check_installation_key(installation_key)?;
    let mac_key = PKey::hmac(installation_key).map_err(|e| SignError::crypto("HMAC key", e))?;
    let mut signer =
        Signer::new(MessageDigest::sha256(), &mac_key).map_err(|e| SignError::crypto("HMAC", e))?;
    signer
        .update(b"otklik-sign/authority-seal/v1")
        .map_err(|e| SignError::crypto("HMAC", e))?;
    let out = signer
        .sign_to_vec()
        .map_err(|e| SignError::crypto("HMAC", e))?;
    Ok(Zeroizing::new(out))
}

fn password_aes_key(
    password: &str,
    salt: &[u8],
    installation_key: &[u8],
    (m, t, p): (u32, u32, u32),
) -> Result<Zeroizing<Vec<u8>>, SignError> {
    check_installation_key(installation_key)?;
    let params = Params::new(m, t, p, Some(32))
        .map_err(|e| SignError::new("bad_sealed_key", format!("Argon2 parameters: {e}")))?;
    let argon = Argon2::new_with_secret(
        installation_key,
        argon2::Algorithm::Argon2id,
        Version::V0x13,
        params,
    )
    .map_err(|e| SignError::new("bad_installation_key", format!("Argon2 secret: {e}")))?;
    let mut out = Zeroizing::new(vec![0u8; 32]);
    argon
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| SignError::new("crypto_failure", format!("Argon2: {e}")))?;
    Ok(out)
}

fn random(len: usize) -> Result<Vec<u8>, SignError> {
    let mut buf = vec![0u8; len];
    openssl::rand::rand_bytes(&mut buf).map_err(|e| SignError::crypto("random bytes", e))?;
    Ok(buf)
}

fn seal(header: Vec<u8>, aes_key: &[u8], key: &PKey<Private>) -> Result<Vec<u8>, SignError> {
    let plain = Zeroizing::new(
        key.private_key_to_pkcs8()
            .map_err(|e| SignError::crypto("encoding the private key", e))?,
    );
    let nonce = random(NONCE_LEN)?;
    let mut tag = [0u8; TAG_LEN];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        aes_key,
        Some(&nonce),
        &header,
        &plain,
        &mut tag,
    )
    .map_err(|e| SignError::crypto("sealing the private key", e))?;
    let mut out = header;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Seals an authority's key under the installation key alone.
pub(crate) fn seal_installation(
    key: &PKey<Private>,
    installation_key: &[u8],
) -> Result<Vec<u8>, SignError> {
    let aes = installation_aes_key(installation_key)?;
    let mut header = MAGIC.to_vec();
    header.push(KIND_INSTALLATION);
    seal(header, &aes, key)
}

/// Seals a person's key under Argon2id(password, salt, secret = installation key).
pub(crate) fn seal_password(
    key: &PKey<Private>,
    password: &str,
    installation_key: &[u8],
) -> Result<Vec<u8>, SignError> {
    let salt = random(SALT_LEN)?;
    let aes = password_aes_key(password, &salt, installation_key, (M_COST, T_COST, P_COST))?;
    let mut header = MAGIC.to_vec();
    header.push(KIND_PASSWORD);
    for v in [M_COST, T_COST, P_COST] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    header.extend_from_slice(&salt);
    seal(header, &aes, key)
}

/// What a sealed blob holds before it is opened.
enum Parsed<'a> {
    Installation {
        header: &'a [u8],
        rest: &'a [u8],
    },
    Password {
        header: &'a [u8],
        params: (u32, u32, u32),
        salt: &'a [u8],
        rest: &'a [u8],
    },
}

fn malformed() -> SignError {
    SignError::new("bad_sealed_key", "the sealed key is not in a known format")
}

fn parse(sealed: &[u8]) -> Result<Parsed<'_>, SignError> {
    let body = sealed.strip_prefix(&MAGIC[..]).ok_or_else(malformed)?;
    let (&kind, after_kind) = body.split_first().ok_or_else(malformed)?;
    match kind {
        KIND_INSTALLATION => {
            let header_len = MAGIC.len() + 1;
            Ok(Parsed::Installation {
                header: &sealed[..header_len],
                rest: after_kind,
            })
        }
        KIND_PASSWORD => {
            if after_kind.len() < 12 + SALT_LEN {
                return Err(malformed());
            }
            let word = |i: usize| {
                let mut b = [0u8; 4];
                b.copy_from_slice(&after_kind[i * 4..i * 4 + 4]);
                u32::from_le_bytes(b)
            };
            let params = (word(0), word(1), word(2));
            if params.0 > MAX_M_COST || params.1 > MAX_T_COST || params.2 > MAX_P_COST {
                return Err(SignError::new(
                    "bad_sealed_key",
                    "the sealed key asks for an unreasonable Argon2 cost",
                ));
            }
            let header_len = MAGIC.len() + 1 + 12 + SALT_LEN;
            Ok(Parsed::Password {
                header: &sealed[..header_len],
                params,
                salt: &after_kind[12..12 + SALT_LEN],
                rest: &after_kind[12 + SALT_LEN..],
            })
        }
        _ => Err(malformed()),
    }
}

fn open(
    header: &[u8],
    rest: &[u8],
    aes_key: &[u8],
    failure: SignError,
) -> Result<PKey<Private>, SignError> {
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(malformed());
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let (ciphertext, tag) = body.split_at(body.len() - TAG_LEN);
    let plain = Zeroizing::new(
        decrypt_aead(
            Cipher::aes_256_gcm(),
            aes_key,
            Some(nonce),
            header,
            ciphertext,
            tag,
        )
        .map_err(|_| failure)?,
    );
    // GOST keys decode only with the engine registered.
    let gost = crate::engine::gost();
    PKey::private_key_from_pkcs8(&plain).map_err(|_| match gost {
        Err(e) => e,
        Ok(()) => SignError::new("bad_sealed_key", "the sealed key holds no readable key"),
    })
}

/// Opens an authority's key.
pub(crate) fn open_installation(
    sealed: &[u8],
    installation_key: &[u8],
) -> Result<PKey<Private>, SignError> {
    match parse(sealed)? {
        Parsed::Installation { header, rest } => {
            let aes = installation_aes_key(installation_key)?;
            open(
                header,
                rest,
                &aes,
                SignError::new(
                    "bad_installation_key",
                    "the authority's key does not open with this installation key",
                ),
            )
        }
        Parsed::Password { .. } => Err(SignError::new(
            "bad_sealed_key",
            "this is a person's key, not an authority's",
        )),
    }
}

/// Opens a person's key; a wrong password (or installation key) says only `wrong_password`.
pub(crate) fn open_password(
    sealed: &[u8],
    password: &str,
    installation_key: &[u8],
) -> Result<PKey<Private>, SignError> {
    match parse(sealed)? {
        Parsed::Password {
            header,
            params,
            salt,
            rest,
        } => {
            let aes = password_aes_key(password, salt, installation_key, params)?;
            open(
                header,
                rest,
                &aes,
                SignError::new("wrong_password", "the password does not open the key"),
            )
        }
        Parsed::Installation { .. } => Err(SignError::new(
            "bad_sealed_key",
            "this is an authority's key, not a person's",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn password_seal_round_trips_and_hides_the_key() -> Result<(), SignError> {
        let key = Algorithm::EcdsaP256.generate()?;
        let install = b"installation key of at least some length";
        let sealed = seal_password(&key, "correct horse", install)?;
        let pkcs8 = key
            .private_key_to_pkcs8()
            .map_err(|e| SignError::crypto("t", e))?;
        let scalar = key
            .ec_key()
            .map_err(|e| SignError::crypto("t", e))?
            .private_key()
            .to_vec();
        assert!(!contains(&sealed, &pkcs8));
        assert!(!contains(&sealed, &scalar));

        let opened = open_password(&sealed, "correct horse", install)?;
        assert!(opened.public_eq(&key));

        let wrong = open_password(&sealed, "wrong horse", install).err();
        assert_eq!(wrong.as_ref().map(SignError::code), Some("wrong_password"));
        // The installation key alone (any password) or the password with another
        // installation key: both refused the same way.
        let other = open_password(&sealed, "correct horse", b"another installation").err();
        assert_eq!(other.map(|e| e.code()), Some("wrong_password"));
        // Tampering with the header (the Argon2 cost) breaks authentication too.
        let mut tampered = sealed.clone();
        tampered[MAGIC.len() + 1 + 4] ^= 1;
        let e = open_password(&tampered, "correct horse", install).err();
        assert!(e.is_some());
        // A person's key never opens as an authority's.
        let e = open_installation(&sealed, install).err();
        assert_eq!(e.map(|e| e.code()), Some("bad_sealed_key"));
        Ok(())
    }

    #[test]
    fn installation_seal_round_trips() -> Result<(), SignError> {
        let key = Algorithm::EcdsaP256.generate()?;
        let sealed = seal_installation(&key, b"k1")?;
        assert!(open_installation(&sealed, b"k1")?.public_eq(&key));
        let e = open_installation(&sealed, b"k2").err();
        assert_eq!(e.map(|e| e.code()), Some("bad_installation_key"));
        let e = seal_installation(&key, b"").err();
        assert_eq!(e.map(|e| e.code()), Some("bad_installation_key"));
        Ok(())
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [
            &b""[..],
            b"OTKSEAL",
            b"OTKSEAL\x01",
            b"OTKSEAL\x01\x02",
            b"OTKSEAL\x01\x01abc",
        ] {
            assert!(open_password(bad, "p", b"k").is_err());
            assert!(open_installation(bad, b"k").is_err());
        }
    }
}
