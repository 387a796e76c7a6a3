//! The plain-text table of [`Report`](crate::Report) and the CPU profile's top-N: the
//! first column left-aligned, the others right-aligned, two spaces between columns.

use std::fmt;

/// Writes `header` and `rows` as an aligned table, one line each. A row has as many cells as
/// the header (the report's allocation columns come and go, so the width is not a constant).
pub(crate) fn write_table<R: AsRef<[String]>>(
    f: &mut fmt::Formatter<'_>,
    header: &[&str],
    rows: &[R],
) -> fmt::Result {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| -> fmt::Result {
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                write!(f, "{cell}{}", " ".repeat(pad))?;
            } else {
                write!(f, "  {}{cell}", " ".repeat(pad))?;
            }
        }
        writeln!(f)
    };
    line(f, header)?;
    for row in rows {
        let cells: Vec<&str> = row.as_ref().iter().map(String::as_str).collect();
        line(f, &cells)?;
    }
    Ok(())
}
