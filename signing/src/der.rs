//! A small, strict DER/BER walker and DER writer for the few CMS structures the crate reads
//! and writes itself (SignedData, SignerInfo attributes, certificate extensions).
//!
//! Reading accepts definite lengths (up to four length octets) and BER indefinite lengths on
//! constructed values, because some PDF signers emit BER; it rejects high tag numbers and any
//! length that runs past its parent. Nothing here panics on input.

use crate::error::DerError;

/// Universal and context tags used by this crate.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    pub const CTX0: u8 = 0xa0;
    pub const CTX1: u8 = 0xa1;
    pub const CTX1_PRIMITIVE: u8 = 0x81;
    pub const CTX3: u8 = 0xa3;
    pub const CTX0_PRIMITIVE: u8 = 0x80;
}

/// One tag-length-value read from the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The value octets (for indefinite lengths: everything before the end-of-contents octets).
    pub content: &'a [u8],
    /// The whole encoding, identifier and length included.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the children of this (constructed) value.
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.content)
    }

    /// Checks the tag, returning self.
    pub fn expect(self, tag: u8) -> Result<Self, DerError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError::UnexpectedTag {
                expected: tag,
                found: self.tag,
            })
        }
    }
}

/// Reads consecutive TLVs from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The tag of the next value, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// The next value.
    pub fn next_tlv(&mut self) -> Result<Tlv<'a>, DerError> {
        let (tlv, used) = read_tlv(&self.data[self.pos..], 0)?;
        self.pos += used;
        Ok(tlv)
    }

    /// The next value, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        self.next_tlv()?.expect(tag)
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// The next value if it carries `tag`, else nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.next_tlv().map(Some)
        } else {
            Ok(None)
        }
    }
}

const MAX_DEPTH: usize = 64;

/// Reads one TLV at the start of `data`; returns it and the number of bytes it used.
fn read_tlv(data: &[u8], depth: usize) -> Result<(Tlv<'_>, usize), DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    let tag = *data.first().ok_or(DerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(DerError::HighTagNumber);
    }
    let first = *data.get(1).ok_or(DerError::Truncated)?;
    let mut header = 2usize;
    if first == 0x80 {
        // BER indefinite length: only for constructed values; children until 00 00.
        if tag & 0x20 == 0 {
            return Err(DerError::BadLength);
        }
        let mut pos = header;
        loop {
            let rest = data.get(pos..).ok_or(DerError::Truncated)?;
            if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                let content = &data[header..pos];
                let used = pos + 2;
                return Ok((
                    Tlv {
                        tag,
                        content,
                        raw: &data[..used],
                    },
                    used,
                ));
            }
            let (_, used) = read_tlv(rest, depth + 1)?;
            pos += used;
        }
    }
    let len = if first & 0x80 == 0 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(DerError::BadLength);
        }
        let bytes = data.get(2..2 + n).ok_or(DerError::Truncated)?;
        header += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let end = header.checked_add(len).ok_or(DerError::BadLength)?;
    let content = data.get(header..end).ok_or(DerError::Truncated)?;
    Ok((
        Tlv {
            tag,
            content,
            raw: &data[..end],
        },
        end,
    ))
}

/// Parses exactly one TLV at the start of `data` (trailing bytes, such as the zero padding of a
/// PDF `/Contents` string, are ignored).
pub(crate) fn parse_first(data: &[u8]) -> Result<Tlv<'_>, DerError> {
    read_tlv(data, 0).map(|(tlv, _)| tlv)
}

/// Encodes an object identifier given as arcs (at least two).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    if arcs.len() < 2 {
        return out;
    }
    push_base128(&mut out, arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push_base128(&mut out, *arc);
    }
    out
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        tmp.push(((v & 0x7f) as u8) | 0x80);
        v >>= 7;
    }
    tmp.reverse();
    out.extend(tmp);
}

/// Writes one DER TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Writes a constructed value from already encoded parts.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// Writes a DER SET OF: the elements sorted by their encodings (X.690 11.6).
pub(crate) fn set_of(mut parts: Vec<Vec<u8>>) -> Vec<u8> {
    parts.sort();
    tlv(tag::SET, &parts.concat())
}

/// Writes a non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
        Some(i) => &magnitude[i..],
        None => &[],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(tag::INTEGER, &content)
}

/// Writes an AlgorithmIdentifier, with a NULL parameter when `null_param`.
pub(crate) fn algorithm(oid_bytes: &[u8], null_param: bool) -> Vec<u8> {
    let id = tlv(tag::OID, oid_bytes);
    if null_param {
        cons(tag::SEQUENCE, &[&id, &tlv(tag::NULL, &[])])
    } else {
        cons(tag::SEQUENCE, &[&id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_encoding_matches_known_bytes() {
        assert_eq!(
            oid(&[1, 2, 840, 113549, 1, 9, 5]),
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05]
        );
    }

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let enc = tlv(tag::OCTET_STRING, &content);
        let read = parse_first(&enc).unwrap();
        assert_eq!(read.content, &content[..]);
        assert_eq!(read.raw.len(), enc.len());
    }

    #[test]
    fn indefinite_length_is_read() {
        let data = [0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0xff];
        let read = parse_first(&data).unwrap();
        assert_eq!(read.content, &[0x02, 0x01, 0x05]);
        assert_eq!(read.raw.len(), 7);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for data in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1f, 0x01],
            &[0x30, 0x05, 1],
        ] {
            assert!(parse_first(data).is_err());
        }
        assert_eq!(uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 1]), [0x02, 0x01, 0x01]);
    }
}
