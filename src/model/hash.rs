//! A hash stable across processes, machines and Rust releases (which
//! `DefaultHasher` does not promise): container labels and image tags
//! written by one agent must be recognised by the next.

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_more(FNV_OFFSET, bytes)
}

/// The hash of nothing, where [`fnv1a_more`] starts.
pub const FNV_OFFSET: u64 = 0xcbf29ce484222325;

/// [`fnv1a`] continued over more bytes, for data read in chunks.
pub fn fnv1a_more(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// [`fnv1a`] as 16 hex digits.
pub fn stable_hash(data: &[u8]) -> String {
    format!("{:016x}", fnv1a(data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_is_the_published_fnv1a() {
        // Test vectors of the FNV reference.
        assert_eq!(super::fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(super::stable_hash(b"foobar"), "85944171f73967e8");
        let split = super::fnv1a_more(super::fnv1a(b"foo"), b"bar");
        assert_eq!(split, super::fnv1a(b"foobar"));
    }
}
