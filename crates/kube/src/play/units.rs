//! Kubernetes quantities as the runtime's numbers: CPU (`500m`, `1.5`) as CPUs, memory
//! (`64Mi`, `1G`, `128974848`) as bytes.

/// CPUs from a CPU quantity.
pub fn cpus(q: &str) -> Option<f64> {
    let q = q.trim();
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => q.parse::<f64>().ok(),
    }
    .filter(|c| *c > 0.0)
}

/// Bytes from a memory quantity (binary `Ki Mi Gi Ti`, decimal `k M G T`, or plain bytes).
pub fn bytes(q: &str) -> Option<i64> {
    let q = q.trim();
    let units: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0f64.powi(4)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, mult) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| (n * mult) as i64);
        }
    }
    q.parse::<f64>().ok().map(|n| n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(cpus("500m"), Some(0.5));
        assert_eq!(cpus("2"), Some(2.0));
        assert_eq!(cpus("x"), None);
        assert_eq!(bytes("64Mi"), Some(64 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1000"), Some(1000));
        assert_eq!(bytes("lots"), None);
    }
}
