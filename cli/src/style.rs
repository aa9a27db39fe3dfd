//! Colour for people: styles written into the text, which `anstream` prints as they are on a
//! terminal and strips when standard output is not one, when `NO_COLOR` is set or when
//! `CLICOLOR=0` (`CLICOLOR_FORCE` forces them). A verdict is always a word too, never a colour
//! alone.

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

/// Valid, ok.
pub(crate) const GOOD: Style = AnsiColor::Green.on_default().bold();
/// Invalid, failed, error.
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
/// Warnings, and what deserves a second look.
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();
/// Section headings.
pub(crate) const HEAD: Style = Style::new().bold();
/// Ids and other detail.
pub(crate) const DIM: Style = Style::new().dimmed();

/// `text` in `style` (the codes are stripped on output where colour is off).
pub(crate) fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// `text` without any styles, as a pipe receives it.
#[cfg(test)]
pub(crate) fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}
