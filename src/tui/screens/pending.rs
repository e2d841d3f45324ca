//! Steps whose screens are not built yet say so plainly.

use crate::tui::strings;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    frame.render_widget(
        Paragraph::new(strings::PENDING_BODY)
            .style(theme.dim)
            .wrap(Wrap { trim: false }),
        area,
    );
}
