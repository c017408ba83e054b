//! Aligned text tables the way docker prints them: each column as wide as
//! its widest cell plus three spaces, so long values never run together.

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map(String::as_str).unwrap_or("")
}

/// The table as lines: `headers` first, then each row (cells beyond the
/// header count are ignored; missing cells are empty).
pub fn lines(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| cell(r, i).chars().count())
                .chain(std::iter::once(headers[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let format_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            line.push_str(c);
            if i + 1 < cells.len() {
                let pad = widths[i] - c.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line
    };
    std::iter::once(format_row(headers.to_vec()))
        .chain(
            rows.iter()
                .map(|r| format_row((0..headers.len()).map(|i| cell(r, i)).collect())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_fit_their_widest_cell() {
        let rows = vec![
            vec![
                "a".to_string(),
                "127.0.0.1:5000/demo/webapp:1".into(),
                "x".into(),
            ],
            vec!["bb".to_string(), "busybox".into(), "y".into()],
        ];
        let out = super::lines(&["ID", "IMAGE", "NAMES"], &rows);
        assert_eq!(out[0], "ID   IMAGE                          NAMES");
        assert_eq!(out[1], "a    127.0.0.1:5000/demo/webapp:1   x");
        assert_eq!(out[2], "bb   busybox                        y");
    }
}
