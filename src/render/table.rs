//! Aligned text tables the way docker prints them (its tabwriter: each column as wide as its
//! widest cell plus three spaces, and at least ten), so long values never run together.

/// docker's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: minimum cell width and padding.
const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Lines whose cells are separated by tabs, aligned as docker's tabwriter aligns them (the
/// text after a line's last tab is not padded).
pub fn align_tabs(lines: &[String]) -> Vec<String> {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let headers: Vec<&str> = (0..columns).map(|_| "").collect();
    // Rendered with empty headers, then the header line dropped.
    lines_padded(&headers, &rows, false)
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map(String::as_str).unwrap_or("")
}

/// The table as lines: `headers` first, then each row (cells beyond the
/// header count are ignored; missing cells are empty).
pub fn lines(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    lines_padded(headers, rows, true)
}

fn lines_padded(headers: &[&str], rows: &[Vec<String>], with_header: bool) -> Vec<String> {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| cell(r, i).chars().count())
                .chain(std::iter::once(headers[i].chars().count()))
                .max()
                .map_or(0, |w| (w + PADDING).max(MIN_WIDTH))
        })
        .collect();
    let format_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            line.push_str(c);
            if i + 1 < cells.len() {
                let pad = widths[i] - c.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line
    };
    let header = with_header.then(|| format_row(headers.to_vec()));
    header
        .into_iter()
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
        assert_eq!(out[0], "ID        IMAGE                          NAMES");
        assert_eq!(out[1], "a         127.0.0.1:5000/demo/webapp:1   x");
        assert_eq!(out[2], "bb        busybox                        y");
        let tabs = super::align_tabs(&["CONTAINER ID\tNAMES".into(), "abc\tweb".into()]);
        assert_eq!(tabs, ["CONTAINER ID   NAMES", "abc            web"]);
    }
}
