//! The plain-text table of [`Report`](crate::Report) and the CPU profile's top-N: the
//! first column left-aligned, the others right-aligned, two spaces between columns.

use std::fmt;

/// Writes `header` and `rows` as an aligned table, one line each.
pub(crate) fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| -> fmt::Result {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                write!(f, "{cell}{}", " ".repeat(pad))?;
            } else {
                write!(f, "  {}{cell}", " ".repeat(pad))?;
            }
        }
        writeln!(f)
    };
    line(f, &header)?;
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(f, &cells)?;
    }
    Ok(())
}
