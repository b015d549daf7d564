//! Finding the signatures of a PDF (PAdES) without a PDF library.
//!
//! A signature dictionary cannot live in a compressed object stream (its `/Contents` is patched
//! in place after the file is written), so a byte scan for `/ByteRange` finds every one. For
//! each we require what makes the signature cover the document: `/ByteRange [a b c d]` with
//! `a = 0`, `a + b < c` and `c + d` = the file length, the gap `[b, c)` being exactly the hex
//! string `<...>` that follows the `/Contents` key, and a `/SubFilter` of
//! `ETSI.CAdES.detached` or `adbe.pkcs7.detached` in the same object. The signed bytes are the
//! two ranges. Anything else is a FORMAT_FAILURE for that signature.

use crate::trust::find;

/// One signature found in the file.
pub(crate) struct PdfSignature {
    pub byte_range: Option<[u64; 4]>,
    pub sub_filter: Option<String>,
    /// The signed bytes and the decoded `/Contents`, or why they cannot be had.
    pub signed_content: Result<(Vec<u8>, Vec<u8>), String>,
}

const ACCEPTED_SUB_FILTERS: [&str; 2] = ["ETSI.CAdES.detached", "adbe.pkcs7.detached"];

/// Every `/ByteRange` in file order.
pub(crate) fn find_signatures(pdf: &[u8]) -> Vec<PdfSignature> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = find(&pdf[from..], b"/ByteRange") {
        let pos = from + rel;
        from = pos + b"/ByteRange".len();
        let sub_filter = sub_filter_near(pdf, pos);
        let (byte_range, signed_content) = match parse_byte_range(&pdf[from..]) {
            Some(range) => (Some(range), check(pdf, range, sub_filter.as_deref())),
            None => (
                None,
                Err("/ByteRange is not an array of four integers".to_string()),
            ),
        };
        out.push(PdfSignature {
            byte_range,
            sub_filter,
            signed_content,
        });
    }
    out
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn parse_byte_range(s: &[u8]) -> Option<[u64; 4]> {
    let mut i = 0;
    while i < s.len() && is_ws(s[i]) {
        i += 1;
    }
    if s.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    let mut values = [0u64; 4];
    for v in &mut values {
        while i < s.len() && is_ws(s[i]) {
            i += 1;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        let digits = std::str::from_utf8(s.get(start..i)?).ok()?;
        *v = digits.parse().ok()?;
    }
    while i < s.len() && is_ws(s[i]) {
        i += 1;
    }
    (s.get(i) == Some(&b']')).then_some(values)
}

/// The `/SubFilter` name in the object around `pos` (between the previous `obj` and the next
/// `endobj`).
fn sub_filter_near(pdf: &[u8], pos: usize) -> Option<String> {
    // A signature dictionary is small; bounding the window keeps a file full of `/ByteRange`
    // tokens from costing quadratic time.
    const WINDOW: usize = 1 << 20;
    let floor = pos.saturating_sub(WINDOW);
    let ceiling = pos.saturating_add(WINDOW).min(pdf.len());
    let start = pdf[floor..pos]
        .windows(3)
        .rposition(|w| w == b"obj")
        .map_or(floor, |i| floor + i);
    let end = find(&pdf[pos..ceiling], b"endobj").map_or(ceiling, |e| pos + e);
    let object = &pdf[start..end];
    let at = find(object, b"/SubFilter")? + b"/SubFilter".len();
    let rest = &object[at..];
    let name_start = rest.iter().position(|b| !is_ws(*b))?;
    if rest[name_start] != b'/' {
        return None;
    }
    let name: Vec<u8> = rest[name_start + 1..]
        .iter()
        .take_while(|b| !is_ws(**b) && !b"/<>[]()%".contains(b))
        .copied()
        .collect();
    String::from_utf8(name).ok()
}

fn check(
    pdf: &[u8],
    [a, b, c, d]: [u64; 4],
    sub_filter: Option<&str>,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    match sub_filter {
        Some(sf) if ACCEPTED_SUB_FILTERS.contains(&sf) => {}
        Some(sf) => return Err(format!("unsupported /SubFilter /{sf}")),
        None => return Err("the signature dictionary has no /SubFilter".to_string()),
    }
    let len = pdf.len() as u64;
    let gap_start = a.checked_add(b).ok_or("byte range overflows")?;
    let end = c.checked_add(d).ok_or("byte range overflows")?;
    if a != 0 {
        return Err(format!(
            "the byte range starts at {a}, not at the start of the file"
        ));
    }
    if gap_start >= c {
        return Err("the byte range's two parts overlap or leave no gap".to_string());
    }
    if end != len {
        return Err(format!(
            "the byte range ends at {end} but the file has {len} bytes: the signature does not cover the whole file"
        ));
    }
    let (gap_start, c, end) = (gap_start as usize, c as usize, end as usize);
    let gap = &pdf[gap_start..c];
    if gap.len() < 2 || gap[0] != b'<' || gap[gap.len() - 1] != b'>' {
        return Err("the byte range's gap is not exactly the /Contents hex string".to_string());
    }
    let before = &pdf[..gap_start];
    let key_end = before.iter().rposition(|b| !is_ws(*b)).map_or(0, |i| i + 1);
    if !before[..key_end].ends_with(b"/Contents") {
        return Err("the byte range's gap is not the value of /Contents".to_string());
    }
    let contents = decode_hex(&gap[1..gap.len() - 1])?;
    let mut signed = Vec::with_capacity(gap_start + (end - c));
    signed.extend_from_slice(&pdf[..gap_start]);
    signed.extend_from_slice(&pdf[c..end]);
    Ok((signed, contents))
}

/// Decodes a PDF hex string body (whitespace ignored, an odd final digit padded with 0).
fn decode_hex(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(body.len());
    for b in body {
        match b {
            b'0'..=b'9' => digits.push(b - b'0'),
            b'a'..=b'f' => digits.push(b - b'a' + 10),
            b'A'..=b'F' => digits.push(b - b'A' + 10),
            b if is_ws(*b) => {}
            _ => return Err("/Contents is not a hex string".to_string()),
        }
    }
    if digits.len() % 2 == 1 {
        digits.push(0);
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_parsing() {
        assert_eq!(parse_byte_range(b" [0 10  20\n30]"), Some([0, 10, 20, 30]));
        assert_eq!(parse_byte_range(b"[0 10 20]"), None);
        assert_eq!(parse_byte_range(b"[0 -1 20 3]"), None);
        assert_eq!(parse_byte_range(b""), None);
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex(b"0a B\n1"), Ok(vec![0x0a, 0xb1]));
        assert_eq!(decode_hex(b"abc"), Ok(vec![0xab, 0xc0]));
        assert!(decode_hex(b"zz").is_err());
    }

    #[test]
    fn truncated_inputs_do_not_panic() {
        for pdf in [
            &b"/ByteRange"[..],
            b"/ByteRange [",
            b"obj /ByteRange [0 1 2 3] /SubFilter",
            b"/ByteRange [0 99999999999999999999 1 1]",
        ] {
            let sigs = find_signatures(pdf);
            assert_eq!(sigs.len(), 1);
            assert!(sigs[0].signed_content.is_err());
        }
    }
}
