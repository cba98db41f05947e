//! One-time device enrolment codes: generated at random (12 characters without look-alike
//! letters, about 59 bits), shown grouped `ABCD-EFGH-JKLM`, stored only as a SHA-256 hash,
//! valid for a short while and for one redemption; and the QR code that carries a code and
//! the server's address to a phone's camera.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};
use sha2::{Digest, Sha256};

/// How long a code works unless said otherwise.
pub const DEFAULT_VALID_MINUTES: u32 = 30;
/// Longest validity anyone may ask for (a code is a credential: keep it short-lived).
pub const MAX_VALID_MINUTES: u32 = 7 * 24 * 60;

/// No 0/O, 1/I/L: read aloud or typed from paper without mistakes.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 12;

/// A fresh code, grouped by four (`ABCD-EFGH-JKLM`).
pub fn generate_code() -> String {
    let mut out = String::with_capacity(CODE_LEN + 2);
    let mut produced = 0;
    while produced < CODE_LEN {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        if usize::from(byte[0]) >= limit {
            continue;
        }
        if produced > 0 && produced % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        produced += 1;
    }
    out
}

/// The code as typed or scanned, reduced to its characters: upper case, without spaces
/// or dashes. `None` if it cannot be one of ours.
pub fn normalise(code: &str) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = cleaned.len() == CODE_LEN && cleaned.bytes().all(|b| ALPHABET.contains(&b));
    ok.then_some(cleaned)
}

/// What is stored of a code: the SHA-256 of its normalised form.
pub fn hash(normalised: &str) -> [u8; 32] {
    Sha256::digest(normalised.as_bytes()).into()
}

/// The text a QR code carries: `hecha-enrol:?server=<url>&code=<code>` (percent-encoded).
pub fn qr_payload(server_url: &str, code: &str) -> String {
    format!(
        "hecha-enrol:?server={}&code={}",
        percent_encode(server_url.trim_end_matches('/')),
        percent_encode(code)
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn qr(payload: &str) -> Option<QrCode> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).ok()
}

/// The QR code of `payload` as an SVG document (empty if the payload is too long).
pub fn qr_svg(payload: &str) -> String {
    qr(payload)
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// The QR code of `payload` for a terminal (half-block characters, dark on light).
pub fn qr_text(payload: &str) -> String {
    qr(payload)
        .map(|code| {
            code.render::<unicode::Dense1x2>()
                .dark_color(unicode::Dense1x2::Light)
                .light_color(unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_random_and_normalise_back() {
        let a = generate_code();
        let b = generate_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        let bare = normalise(&a).unwrap();
        assert_eq!(bare.len(), 12);
        assert_eq!(
            normalise(&a.to_lowercase().replace('-', " ")),
            Some(bare.clone())
        );
        assert_eq!(hash(&bare), hash(&normalise(&a).unwrap()));
        for bad in [
            "",
            "ABCD",
            "ABCD-EFGH-JKL0",
            "ABCD-EFGH-JKLMN",
            "ABCD-EFGH-JK1M",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_qr_code_carries_server_and_code() {
        let payload = qr_payload("https://hecha.example.cn:8443/", "ABCD-EFGH-JKMN");
        assert_eq!(
            payload,
            "hecha-enrol:?server=https%3A%2F%2Fhecha.example.cn%3A8443&code=ABCD-EFGH-JKMN"
        );
        let svg = qr_svg(&payload);
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
        let text = qr_text(&payload);
        assert!(text.lines().count() > 10);
    }
}
