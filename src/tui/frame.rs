//! The frame: title bar, step list, the current step, the status line, key hints, and the
//! pop-up over them. It reads the whole app; nothing below it imports it.

use crate::tui::app::{App, Focus, Mark, Step};
use crate::tui::modal::Modal;
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, level_icon, level_style};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < 60 || area.height < 16 {
        frame.render_widget(
            Paragraph::new(strings::TOO_SMALL).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    // The status line wraps to at most 3 rows: a finding brought from the doctor keeps
    // its fix.
    let status_rows = app.status.as_ref().map_or(1, |(_, msg)| {
        (msg.chars().count() + 2)
            .div_ceil(usize::from(area.width))
            .clamp(1, 3) as u16
    });
    let [title, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(frame, title, app, theme);
    let [side, main] = Layout::horizontal([Constraint::Length(21), Constraint::Min(0)]).areas(body);
    draw_sidebar(frame, side, app, theme);

    let main_block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", app.step.title()))
        .border_style(if app.focus == Focus::Content {
            theme.border_focused
        } else {
            theme.border
        });
    let inner = main_block.inner(main);
    frame.render_widget(main_block, main);
    let view = crate::tui::steps::View {
        theme,
        spinner: app.spinner,
        focused: app.focus == Focus::Content,
        edits: &app.edits,
    };
    match app.room(app.step) {
        Some(room) => room.draw(frame, inner, &view),
        None => super::steps::review::draw(frame, inner, app, theme),
    }

    if let Some((level, msg)) = &app.status {
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("{} {}", level_icon(*level), crate::secret::scrub(msg)),
                level_style(*level, theme),
            ))
            .wrap(Wrap { trim: true }),
            status,
        );
    }
    // Drawn from the same table the keys are looked up in.
    let hint = crate::tui::keys::footer(crate::tui::app::key_screen(app));
    frame.render_widget(Paragraph::new(Span::styled(hint, theme.key_hint)), hints);

    draw_modal(frame, area, app, theme);
}

/// The open pop-up, over the frame.
fn draw_modal(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match &app.modal {
        Some(Modal::Help) => draw_help(
            frame,
            area,
            theme,
            &crate::tui::keys::help(crate::tui::app::key_screen(app)),
        ),
        Some(Modal::ConfirmQuit) => {
            draw_popup(frame, area, theme, " Quit? ", strings::CONFIRM_QUIT)
        }
        Some(Modal::ConfirmQuitResults) => {
            draw_popup(frame, area, theme, " Quit? ", strings::CONFIRM_QUIT_RESULTS)
        }
        Some(Modal::RestoreDraft(d)) => {
            let changed = d.base_fingerprint
                != super::draft::fingerprint(app.base.original_text().as_bytes());
            draw_popup(
                frame,
                area,
                theme,
                " Unsaved answers ",
                &strings::restore_draft(d, changed),
            );
        }
        Some(Modal::Transcript(lines)) => {
            let body = if lines.is_empty() {
                "(nothing was said)".to_string()
            } else {
                crate::secret::scrub(&lines.join("\n"))
            };
            draw_popup_sized(
                frame,
                area,
                theme,
                " Test mail: result and SMTP conversation (password removed; Esc closes) ",
                &body,
                76,
                area.height.saturating_sub(2),
            );
        }
        Some(Modal::Details {
            title,
            body,
            scroll,
        }) => draw_scrolled(
            frame,
            area,
            theme,
            &format!(" {title}: in full (↑↓ PgUp/PgDn scroll; Esc closes) "),
            body,
            *scroll,
        ),
        Some(Modal::Codes(lines)) => draw_popup_sized(
            frame,
            area,
            theme,
            " Codes the PDS meant to mail (read-only; Esc closes) ",
            &lines.join("\n"),
            76,
            area.height.saturating_sub(2),
        ),
        Some(Modal::Confirm { title, body, .. })
        | Some(Modal::Ask {
            title,
            body,
            wide: true,
            ..
        }) => draw_fitted(frame, area, theme, title, body),
        Some(Modal::Ask {
            title,
            body,
            wide: false,
            ..
        }) => draw_popup(frame, area, theme, title, body),
        Some(Modal::Restart(cmd)) => draw_popup(
            frame,
            area,
            theme,
            " Restart the PDS? ",
            &strings::restart_offer(&crate::pds::shown(cmd)),
        ),
        None => {}
    }
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![
        Span::styled(format!(" {} ", strings::APP), theme.title),
        Span::raw(format!("· {}", app.env_path.display())),
    ];
    if app.has_unsaved() {
        spans.push(Span::styled(
            format!("  [{}]", strings::UNSAVED),
            theme.warn,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_sidebar(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let items: Vec<ListItem> = Step::ALL
        .iter()
        .map(|&s| {
            let (icon, style) = match app.mark(s) {
                Mark::Done => ("✓", theme.pass),
                Mark::Attention => ("✗", theme.fail),
                Mark::Edited => ("*", theme.warn),
                Mark::Open => ("·", theme.dim),
            };
            let line = Line::from(vec![
                Span::styled(format!(" {icon} "), style),
                Span::raw(s.title()),
            ]);
            let mut item = ListItem::new(line);
            if s == app.step {
                item = item.style(if app.focus == Focus::Sidebar {
                    theme.selected
                } else {
                    Style::default().add_modifier(ratatui::style::Modifier::BOLD)
                });
            }
            item
        })
        .collect();
    let mut items = items;
    if let Some(standins) = &app.demo_standins {
        items.push(ListItem::new(""));
        items.push(ListItem::new(Span::styled(
            format!(" {}", strings::DEMO_STANDINS),
            theme.dim,
        )));
        if standins.is_empty() {
            // Two lines: the sidebar is 19 columns wide.
            for line in strings::DEMO_NO_STANDINS.split(' ') {
                items.push(ListItem::new(Span::styled(format!(" {line}"), theme.dim)));
            }
        }
        for s in standins {
            let (icon, style) = if s.live {
                ("✓", theme.pass)
            } else {
                ("✗", theme.dim)
            };
            items.push(ListItem::new(Line::from(vec![
                Span::styled(format!(" {icon} "), style),
                Span::raw(s.kind.label()),
            ])));
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Steps ")
        .border_style(if app.focus == Focus::Sidebar {
            theme.border_focused
        } else {
            theme.border
        });
    let inner = block.inner(area);
    let used = items.len() as u16;
    frame.render_widget(List::new(items).block(block), area);
    // In the demo, what this step cannot do here: in the sidebar's spare rows, so a form
    // keeps every row it has at 80x24.
    if let Some(note) = app.demo_note(app.step) {
        let rest = Rect {
            y: inner.y + used + 1,
            height: inner.height.saturating_sub(used + 1),
            ..inner
        };
        frame.render_widget(
            Paragraph::new(Span::styled(note, theme.dim)).wrap(Wrap { trim: true }),
            rest,
        );
    }
}

pub(crate) fn draw_popup(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, body: &str) {
    draw_popup_sized(frame, area, theme, title, body, 64, 10);
}

pub(crate) fn draw_popup_sized(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    body: &str,
    width: u16,
    height: u16,
) {
    // As tall as its text wraps to (within the screen): a long command must not push the
    // y/n line out of sight.
    let text = Paragraph::new(body).wrap(Wrap { trim: false });
    let inner = width.min(area.width).saturating_sub(2).max(1);
    let needed = u16::try_from(text.line_count(inner))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let r = centered(area, width, height.max(needed));
    frame.render_widget(Clear, r);
    frame.render_widget(
        text.block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(theme.border_focused),
        ),
        r,
    );
}

/// A pop-up as large as the screen allows, its text scrolled down `scroll` rows (at most
/// to its last page).
pub(crate) fn draw_scrolled(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    body: &str,
    scroll: u16,
) {
    let r = centered(area, 78, area.height.saturating_sub(2));
    let text = Paragraph::new(body).wrap(Wrap { trim: false });
    let inner_height = r.height.saturating_sub(2);
    let rows = u16::try_from(text.line_count(r.width.saturating_sub(2).max(1))).unwrap_or(u16::MAX);
    let scroll = scroll.min(rows.saturating_sub(inner_height));
    frame.render_widget(Clear, r);
    frame.render_widget(
        text.scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(theme.border_focused),
        ),
        r,
    );
}

pub(crate) fn draw_help(frame: &mut Frame, area: Rect, theme: &Theme, keys: &[(&str, &str)]) {
    // Each description wraps under itself (a hanging indent past the key column), so none
    // is cut at 80 columns.
    const KEY_COLUMN: usize = 17;
    let width = area.width.min(78);
    let text_width = usize::from(width.saturating_sub(2))
        .saturating_sub(KEY_COLUMN)
        .max(10);
    let mut lines: Vec<Line> = Vec::new();
    for (k, v) in keys {
        for (n, part) in wrap_words(v, text_width).into_iter().enumerate() {
            let key = if n == 0 {
                format!(" {k:<16}")
            } else {
                " ".repeat(KEY_COLUMN)
            };
            lines.push(Line::from(vec![
                Span::styled(key, theme.key_hint),
                Span::raw(part),
            ]));
        }
    }
    let r = centered(area, width, lines.len() as u16 + 4);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (Esc closes) ")
                .border_style(theme.border_focused),
        ),
        r,
    );
}

/// `text` in lines of at most `width` characters, broken between words (a word longer
/// than the line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let fits = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && fits > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// A pop-up 76 wide and as tall as its text (wrapped at its width), at most the screen: a
/// body taller than that (a long diff) shows its first lines and says how many more there
/// are (a question's y/n line comes first, so it is never what is cut).
fn draw_fitted(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, body: &str) {
    let rows_of = |l: &str| l.chars().count() / 74 + 1;
    let room = usize::from(area.height.saturating_sub(4));
    let lines: Vec<&str> = body.lines().collect();
    let mut used = 0;
    let fit = lines
        .iter()
        .take_while(|l| {
            used += rows_of(l);
            used <= room
        })
        .count();
    let body = match fit < lines.len() {
        true => {
            let kept = fit.saturating_sub(1);
            let mut b = lines[..kept].join("\n");
            b.push_str(&format!("\n… and {} more lines", lines.len() - kept));
            b
        }
        false => body.to_string(),
    };
    let rows = body.lines().map(rows_of).sum::<usize>() as u16 + 2;
    draw_popup_sized(
        frame,
        area,
        theme,
        title,
        &body,
        76,
        rows.min(area.height.saturating_sub(2)),
    );
}
