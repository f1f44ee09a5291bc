//! Clone-tree pictures (`zxctl tree`): each family a script leaves open, drawn as text,
//! Graphviz DOT or SVG, hidden snapshot points shown apart from VMOs.
//!
//! The tree drawn is the content tree: every node sits under the node its content comes from
//! (its link's parent), hidden snapshot points included; slices, which have no content of their
//! own, sit under the node whose pages they show.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use clap::ValueEnum;
use vm_engine::{ChildKind, FamilyView, NodeRole, NodeView};

use crate::script;

/// How a tree is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Indented text.
    Text,
    /// Graphviz DOT.
    Dot,
    /// A self-contained SVG picture.
    Svg,
    /// Machine-readable: every node with its role, link and accounting.
    Json,
}

const PAGE: u64 = vm_engine::PAGE_SIZE as u64;

/// The family `zxctl tree` draws without a script: a VMO with pages, two snapshots of it, a
/// snapshot of a snapshot, an at-least-on-write child, a slice and a legacy clone, writes that
/// make them diverge, and one snapshot closed again (its hidden snapshot point merges away).
pub const DEMO_SCRIPT: &str = r#"# zxctl tree: a family with every kind of child
create origin 16K
write origin 0 "page zero"
write origin 4K "page one"
write origin 8K "page two"
child snap1 origin snapshot 0 16K
child snap2 origin snapshot 0 16K
child snap3 snap1 snapshot 4K 8K
child lazy origin at-least-on-write 0 8K
child window origin slice 4K 8K
clone legacy origin 0 16K
write origin 0 "origin again"
write snap1 4K "snap1 own"
write snap3 0 "snap3 own"
write legacy 8K "legacy own"
write window 0 "through the slice"
close snap2
"#;

/// Draws one family; `names` labels the VMOs the script named (by node id).
pub fn render(view: &FamilyView, names: &BTreeMap<usize, String>, format: Format) -> String {
    let shape = Shape::new(view);
    match format {
        Format::Text => render_text(&shape, names),
        Format::Dot => render_dot(&shape, names),
        Format::Svg => {
            let (body, width, height) = svg_body(&shape, names);
            svg_document(&body, width, height)
        }
        Format::Json => format!("{}\n", family_json(view, names)),
    }
}

/// One family as a JSON document: `{"nodes": [...], "this": id}`.
fn family_json(view: &FamilyView, names: &BTreeMap<usize, String>) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = view
        .nodes
        .iter()
        .map(|node| {
            let (role, open, kind, target) = match node.role {
                NodeRole::Vmo { open, kind } => ("vmo", Some(open), Some(kind_name(kind)), None),
                NodeRole::Hidden => ("hidden", None, None, None),
                NodeRole::Slice { open, target, .. } => ("slice", Some(open), None, Some(target)),
                NodeRole::Zombie => ("closed", Some(false), None, None),
            };
            serde_json::json!({
                "id": node.id,
                "name": names.get(&node.id),
                "role": role,
                "open": open,
                "kind": kind,
                "slice_of": target,
                "link": node.link.map(|(parent, offset, limit)| serde_json::json!({
                    "parent": parent,
                    "offset_bytes": offset * PAGE,
                    "limit_bytes": limit * PAGE,
                })),
                "size": node.size,
                "own_frames": node.own_frames,
                "committed_bytes": node.committed_bytes,
                "populated_bytes": node.populated_bytes,
            })
        })
        .collect();
    serde_json::json!({ "nodes": nodes, "this": view.this })
}

/// `zxctl tree [FILE]`.
pub fn run(file: Option<&Path>, format: Format) -> Result<(), String> {
    let (source, origin) = match file {
        Some(path) if path == Path::new("-") => (
            std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?,
            "stdin".to_string(),
        ),
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            path.display().to_string(),
        ),
        None => (DEMO_SCRIPT.to_string(), "built-in demo script".to_string()),
    };
    let mut session = script::Session::new(1 << 16)?;
    script::run_source(&source, &mut session, &mut std::io::sink(), false)
        .map_err(|error| format!("{origin}: {error}"))?;
    let families = families(&session);
    if families.is_empty() {
        return Err(format!("{origin}: the script leaves no VMO open"));
    }
    print!("{}", draw(&families, format));
    Ok(())
}

/// One family a session holds: its picture and the script's names by node id.
type Family = (FamilyView, BTreeMap<usize, String>);

/// The families of the VMOs `session` holds, in the order of their first (alphabetical) name:
/// family ids are addresses, so they would not give a stable order. A node held under two
/// names is labelled `a/b`.
fn families(session: &script::Session) -> Vec<Family> {
    let mut families: Vec<(usize, Family)> = Vec::new();
    for (name, object) in session.vmos() {
        let vmo = object.vmo();
        let family = vmo.family_id();
        let view = vmo.family_view();
        let this = view.this;
        let index = match families.iter().position(|(id, _)| *id == family) {
            Some(index) => index,
            None => {
                families.push((family, (view, BTreeMap::new())));
                families.len() - 1
            }
        };
        families[index]
            .1
             .1
            .entry(this)
            .and_modify(|names: &mut String| {
                names.push('/');
                names.push_str(&name);
            })
            .or_insert(name);
    }
    families.into_iter().map(|(_, family)| family).collect()
}

/// Every family in `format`: text pictures and DOT graphs one after another (a blank line
/// between), SVG pictures stacked in one document.
fn draw(families: &[Family], format: Format) -> String {
    match format {
        Format::Json => {
            let all: Vec<serde_json::Value> = families
                .iter()
                .map(|(view, names)| family_json(view, names))
                .collect();
            format!("{}\n", serde_json::Value::Array(all))
        }
        Format::Svg if families.len() > 1 => {
            let mut body = String::new();
            let (mut width, mut height) = (0u64, 0u64);
            for (view, names) in families {
                let (inner, w, h) = svg_body(&Shape::new(view), names);
                let _ = writeln!(
                    body,
                    r#"<svg x="0" y="{height}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
                );
                body.push_str(&inner);
                body.push_str("</svg>\n");
                width = width.max(w);
                height += h;
            }
            svg_document(&body, width, height)
        }
        _ => families
            .iter()
            .map(|(view, names)| render(view, names, format))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

// ---------------------------------------------------------------------------------------------
// The shape of a family: who is drawn under whom.

/// A family arranged as a forest, with its nodes in drawing (pre-)order.
struct Shape<'a> {
    nodes: BTreeMap<usize, &'a NodeView>,
    /// The node the picture was taken through (drawn a little bolder in DOT).
    this: usize,
    /// The children drawn under each node, by id (a cycle's back edge is not drawn).
    drawn: BTreeMap<usize, Vec<usize>>,
    /// `(node, depth, parent in the drawing)` in pre-order, children by id.
    order: Vec<(usize, usize, Option<usize>)>,
}

impl<'a> Shape<'a> {
    fn new(view: &'a FamilyView) -> Self {
        let nodes: BTreeMap<usize, &NodeView> = view.nodes.iter().map(|n| (n.id, n)).collect();
        let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut roots = Vec::new();
        for node in nodes.values() {
            match drawn_parent(node) {
                Some(parent) if parent != node.id && nodes.contains_key(&parent) => {
                    children.entry(parent).or_default().push(node.id)
                }
                _ => roots.push(node.id),
            }
        }
        for list in children.values_mut() {
            list.sort_unstable();
        }

        // Iterative pre-order walk (families can be deep chains). Nodes a broken picture leaves
        // unreachable (a cycle) are drawn as extra roots rather than dropped.
        let mut order = Vec::with_capacity(nodes.len());
        let mut seen = BTreeSet::new();
        let mut pending_roots: Vec<usize> = roots;
        let mut next_unseen = nodes.keys().copied();
        loop {
            let root = if !pending_roots.is_empty() {
                pending_roots.remove(0)
            } else {
                match next_unseen.by_ref().find(|id| !seen.contains(id)) {
                    Some(id) => id,
                    None => break,
                }
            };
            if seen.contains(&root) {
                continue;
            }
            let mut stack = vec![(root, 0usize, None)];
            while let Some((id, depth, parent)) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                order.push((id, depth, parent));
                if let Some(list) = children.get(&id) {
                    for &child in list.iter().rev() {
                        if !seen.contains(&child) {
                            stack.push((child, depth + 1, Some(id)));
                        }
                    }
                }
            }
        }
        let mut drawn: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(id, _, parent) in &order {
            if let Some(parent) = parent {
                drawn.entry(parent).or_default().push(id);
            }
        }
        Shape {
            nodes,
            this: view.this,
            drawn,
            order,
        }
    }

    /// The children drawn under `id`, by id.
    fn drawn_children(&self, id: usize) -> &[usize] {
        self.drawn.get(&id).map_or(&[], Vec::as_slice)
    }
}

/// The node a node is drawn under: a slice under the node whose pages it shows, anything else
/// under its content parent.
fn drawn_parent(node: &NodeView) -> Option<usize> {
    match node.role {
        NodeRole::Slice { target, .. } => Some(target),
        _ => node.link.map(|(parent, _, _)| parent),
    }
}

// ---------------------------------------------------------------------------------------------
// Labels.

/// `8 KiB`, `1.5 MiB`, `0 B`.
fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            if bytes % scale == 0 {
                return format!("{} {unit}", bytes / scale);
            }
            let tenths = (bytes as u128 * 10 + scale as u128 / 2) / scale as u128;
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{bytes} B")
}

fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn kind_name(kind: Option<ChildKind>) -> &'static str {
    match kind {
        None => "created",
        Some(ChildKind::Snapshot) => "snapshot",
        Some(ChildKind::SnapshotAtLeastOnWrite) => "at-least-on-write",
        Some(ChildKind::Slice) => "slice",
        Some(ChildKind::OneWay) => "one-way clone",
    }
}

/// What a VMO is called: the script's name, else `vmo#id`.
fn title(id: usize, names: &BTreeMap<usize, String>) -> String {
    match names.get(&id) {
        Some(name) => format!("{name} (#{id})"),
        None => format!("vmo#{id}"),
    }
}

/// A short reference to a node in another node's label.
fn reference(id: usize, names: &BTreeMap<usize, String>) -> String {
    match names.get(&id) {
        Some(name) => name.clone(),
        None => format!("#{id}"),
    }
}

fn is_hidden_like(node: &NodeView) -> bool {
    matches!(node.role, NodeRole::Hidden | NodeRole::Zombie)
}

/// A node's label, one line per fact (joined with `, ` in text).
fn label_lines(node: &NodeView, names: &BTreeMap<usize, String>) -> Vec<String> {
    let frames = count(node.own_frames, "frame");
    let accounting = |lines: &mut Vec<String>| {
        lines.push(format!("size {}", human(node.size)));
        lines.push(format!(
            "committed {}, populated {}",
            human(node.committed_bytes),
            human(node.populated_bytes)
        ));
        lines.push(count(node.own_frames, "own frame"));
    };
    match node.role {
        NodeRole::Hidden => vec![format!("(hidden #{}, {frames})", node.id)],
        NodeRole::Zombie => vec![format!(
            "(closed #{}, kept for its children, {frames})",
            node.id
        )],
        NodeRole::Vmo { open, kind } => {
            let mut lines = vec![
                title(node.id, names),
                kind_name(kind).to_string(),
                if open { "open" } else { "closed" }.to_string(),
            ];
            accounting(&mut lines);
            lines
        }
        NodeRole::Slice {
            open,
            target,
            offset,
        } => {
            let start = offset * PAGE;
            let mut lines = vec![
                title(node.id, names),
                format!(
                    "slice of {}, window [{}, {})",
                    reference(target, names),
                    human(start),
                    human(start + node.size)
                ),
                if open { "open" } else { "closed" }.to_string(),
            ];
            accounting(&mut lines);
            lines
        }
    }
}

/// The note on the edge into `node`: its window in its content parent when it is not the
/// whole of it, a slice's window always.
fn edge_note(node: &NodeView) -> Option<String> {
    match node.role {
        NodeRole::Slice { offset, .. } => {
            let start = offset * PAGE;
            Some(format!(
                "window [{}, {})",
                human(start),
                human(start + node.size)
            ))
        }
        _ => {
            let (_, offset, limit) = node.link?;
            if offset == 0 && limit * PAGE >= node.size {
                None
            } else if limit == 0 {
                Some("sees none of its parent".to_string())
            } else {
                Some(format!(
                    "offset {}, limit {}",
                    human(offset * PAGE),
                    human(limit * PAGE)
                ))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text.

fn render_text(shape: &Shape<'_>, names: &BTreeMap<usize, String>) -> String {
    let mut out = String::new();
    // Prefix of each drawn node's children, and whether each node is its parent's last child.
    let mut child_prefix: BTreeMap<usize, String> = BTreeMap::new();
    let mut last: BTreeSet<usize> = BTreeSet::new();
    for &(id, _, _) in &shape.order {
        if let Some(&child) = shape.drawn_children(id).last() {
            last.insert(child);
        }
    }
    for &(id, _, parent) in &shape.order {
        let node = shape.nodes[&id];
        let (branch, prefix) = match parent {
            None => (String::new(), String::new()),
            Some(parent) => {
                let base = child_prefix.get(&parent).cloned().unwrap_or_default();
                if last.contains(&id) {
                    (format!("{base}└── "), format!("{base}    "))
                } else {
                    (format!("{base}├── "), format!("{base}│   "))
                }
            }
        };
        child_prefix.insert(id, prefix);
        let mut line = branch;
        if !matches!(node.role, NodeRole::Slice { .. }) {
            if let Some(note) = edge_note(node) {
                let _ = write!(line, "[{note}] ");
            }
        }
        let lines = label_lines(node, names);
        match node.role {
            NodeRole::Vmo { .. } | NodeRole::Slice { .. } => {
                let _ = write!(line, "{}: {}", lines[0], lines[1..].join(", "));
            }
            _ => line.push_str(&lines.join(", ")),
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// DOT.

fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn render_dot(shape: &Shape<'_>, names: &BTreeMap<usize, String>) -> String {
    let mut out = String::from("digraph family {\n");
    out.push_str("  rankdir=TB;\n");
    out.push_str("  node [fontname=\"monospace\", fontsize=10];\n");
    out.push_str("  edge [fontname=\"monospace\", fontsize=9];\n");
    for node in shape.nodes.values() {
        let label = dot_escape(&label_lines(node, names).join("\n"));
        let style = match node.role {
            NodeRole::Hidden => "shape=ellipse, style=dashed, color=gray40".to_string(),
            NodeRole::Zombie => "shape=box, style=\"rounded,dashed\", color=gray40".to_string(),
            NodeRole::Vmo { open, .. } | NodeRole::Slice { open, .. } => {
                let mut style = String::from("shape=box");
                if matches!(node.role, NodeRole::Slice { .. }) {
                    style.push_str(", style=rounded");
                }
                if !open {
                    style.push_str(", color=gray50, fontcolor=gray40");
                }
                if node.id == shape.this {
                    style.push_str(", penwidth=2");
                }
                style
            }
        };
        let _ = writeln!(out, "  n{} [label=\"{label}\", {style}];", node.id);
    }
    for &(id, _, parent) in &shape.order {
        let Some(parent) = parent else { continue };
        let node = shape.nodes[&id];
        let mut attributes = Vec::new();
        if matches!(node.role, NodeRole::Slice { .. }) {
            // Drawn below its target, arrow pointing at the target whose pages it shows.
            attributes.push("style=dotted".to_string());
            attributes.push("dir=back".to_string());
        }
        if let Some(note) = edge_note(node) {
            attributes.push(format!("label=\"{}\"", dot_escape(&note)));
        }
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attributes.join(", "))
        };
        let _ = writeln!(out, "  n{parent} -> n{id}{attributes};");
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------------------------
// SVG.

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn svg_document(body: &str, width: u64, height: u64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"12\">\n{body}</svg>\n"
    )
}

const MARGIN: u64 = 20;
const LINE_HEIGHT: u64 = 15;
const CHAR_WIDTH: u64 = 7;
const COLUMN_GAP: u64 = 24;
const LAYER_GAP: u64 = 56;

/// The picture's elements (no `<svg>` root) and its size: a layered layout, depth the distance
/// from the root, leaves in drawing order, each parent centred over its children.
fn svg_body(shape: &Shape<'_>, names: &BTreeMap<usize, String>) -> (String, u64, u64) {
    let labels: BTreeMap<usize, Vec<String>> = shape
        .nodes
        .values()
        .map(|node| (node.id, label_lines(node, names)))
        .collect();
    let box_width = labels
        .values()
        .flatten()
        .map(|line| line.chars().count() as u64)
        .max()
        .unwrap_or(8)
        * CHAR_WIDTH
        + 16;
    // Each box as wide as its own label; columns as wide as the widest.
    let own_width = |id: usize| {
        labels[&id]
            .iter()
            .map(|line| line.chars().count() as u64)
            .max()
            .unwrap_or(8)
            * CHAR_WIDTH
            + 16
    };
    let box_height = |id: usize| labels[&id].len() as u64 * LINE_HEIGHT + 10;
    let layer_height = labels.keys().map(|&id| box_height(id)).max().unwrap_or(0) + LAYER_GAP;

    // Horizontal slots (in half-columns): leaves take the next free slot, parents the middle of
    // their children. Post-order, iteratively.
    let mut slot: BTreeMap<usize, u64> = BTreeMap::new();
    let mut next_leaf = 0u64;
    for &(id, _, _) in &shape.order {
        if shape.drawn_children(id).is_empty() {
            slot.insert(id, next_leaf * 2);
            next_leaf += 1;
        }
    }
    for &(id, _, _) in shape.order.iter().rev() {
        let children = shape.drawn_children(id);
        if let (Some(first), Some(last)) = (children.first(), children.last()) {
            let middle = (slot[first] + slot[last]) / 2;
            slot.insert(id, middle);
        }
    }
    let depth: BTreeMap<usize, u64> = shape
        .order
        .iter()
        .map(|&(id, depth, _)| (id, depth as u64))
        .collect();
    let max_depth = depth.values().copied().max().unwrap_or(0);
    let column = box_width + COLUMN_GAP;
    let width = MARGIN * 2 + next_leaf.max(1) * column - COLUMN_GAP;
    let height = MARGIN * 2 + (max_depth + 1) * layer_height - LAYER_GAP;
    let centre_x = |id: usize| MARGIN + slot[&id] * column / 2 + box_width / 2;
    let top_y = |id: usize| MARGIN + depth[&id] * layer_height;

    let mut out = String::new();
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    // Links first, so boxes cover their ends.
    for &(id, _, parent) in &shape.order {
        let Some(parent) = parent else { continue };
        let node = shape.nodes[&id];
        let (x1, y1) = (centre_x(parent), top_y(parent) + box_height(parent));
        let (x2, y2) = (centre_x(id), top_y(id));
        let dash = if matches!(node.role, NodeRole::Slice { .. }) {
            " stroke-dasharray=\"2,4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line class=\"link\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#555\" stroke-width=\"1.5\"{dash}/>"
        );
        if let Some(note) = edge_note(node) {
            let (mx, my) = ((x1 + x2) / 2, (y1 + y2) / 2);
            let _ = writeln!(
                out,
                "<text class=\"note\" x=\"{}\" y=\"{my}\" font-size=\"10\" fill=\"#333\">{}</text>",
                mx + 4,
                xml_escape(&note)
            );
        }
    }
    for &(id, _, _) in &shape.order {
        let node = shape.nodes[&id];
        let w = own_width(id);
        let (x, y, h) = (centre_x(id) - w / 2, top_y(id), box_height(id));
        let (class, style) = match node.role {
            NodeRole::Hidden => (
                "hidden",
                "rx=\"14\" fill=\"#f2f2f2\" stroke=\"#777\" stroke-dasharray=\"6,4\"",
            ),
            NodeRole::Zombie => (
                "zombie",
                "rx=\"14\" fill=\"#e6e6e6\" stroke=\"#999\" stroke-dasharray=\"3,3\"",
            ),
            NodeRole::Slice { open, .. } => (
                "slice",
                if open {
                    "rx=\"4\" fill=\"#eef6ff\" stroke=\"#246\""
                } else {
                    "rx=\"4\" fill=\"#e6e6e6\" stroke=\"#888\""
                },
            ),
            NodeRole::Vmo { open, .. } => (
                "vmo",
                if open {
                    "fill=\"#fffbe8\" stroke=\"#222\""
                } else {
                    "fill=\"#e6e6e6\" stroke=\"#888\""
                },
            ),
        };
        let _ = writeln!(
            out,
            "<g class=\"{class}\" id=\"node{id}\">\n<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" {style}/>"
        );
        for (i, line) in labels[&id].iter().enumerate() {
            let weight = if i == 0 && !is_hidden_like(node) {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{weight}>{}</text>",
                centre_x(id),
                y + 5 + (i as u64 + 1) * LINE_HEIGHT - 3,
                xml_escape(line)
            );
        }
        out.push_str("</g>\n");
    }
    (out, width, height)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vm_engine::{InMemoryFrames, InMemoryPlatform, Vmo, VmoOptions};

    use super::*;

    type TestVmo = Vmo<InMemoryPlatform>;

    const P: u64 = PAGE;

    /// The demo's family built directly through the engine, with the names a script would
    /// give; the VMOs are returned so the family stays open.
    fn demo_family() -> (Vec<TestVmo>, FamilyView, BTreeMap<usize, String>) {
        let frames = Arc::new(InMemoryFrames::new());
        let opts = VmoOptions::default();
        let base = TestVmo::create(frames, 4 * P, opts).unwrap();
        base.write(0, b"page zero").unwrap();
        base.write(P, b"page one").unwrap();
        base.write(2 * P, b"page two").unwrap();
        let snap1 = base
            .create_child(ChildKind::Snapshot, 0, 4 * P, opts)
            .unwrap();
        let snap2 = base
            .create_child(ChildKind::Snapshot, 0, 4 * P, opts)
            .unwrap();
        let snap3 = snap1
            .create_child(ChildKind::Snapshot, P, 2 * P, opts)
            .unwrap();
        let lazy = base
            .create_child(ChildKind::SnapshotAtLeastOnWrite, 0, 2 * P, opts)
            .unwrap();
        let window = base.create_child(ChildKind::Slice, P, 2 * P, opts).unwrap();
        let legacy = base
            .create_child(ChildKind::OneWay, 0, 4 * P, opts)
            .unwrap();
        base.write(0, b"origin again").unwrap();
        snap1.write(P, b"snap1 own").unwrap();
        snap3.write(0, b"snap3 own").unwrap();
        legacy.write(2 * P, b"legacy own").unwrap();
        window.write(0, b"through the slice").unwrap();
        drop(snap2);
        base.check_family_invariants().unwrap();

        let named = vec![
            ("origin", base),
            ("snap1", snap1),
            ("snap3", snap3),
            ("lazy", lazy),
            ("window", window),
            ("legacy", legacy),
        ];
        let mut names = BTreeMap::new();
        let view = named[0].1.family_view();
        let family = named[0].1.family_id();
        for (name, vmo) in &named {
            assert_eq!(vmo.family_id(), family);
            names.insert(vmo.family_view().this, name.to_string());
        }
        (named.into_iter().map(|(_, v)| v).collect(), view, names)
    }

    fn hidden_count(view: &FamilyView) -> usize {
        view.nodes
            .iter()
            .filter(|n| n.role == NodeRole::Hidden)
            .count()
    }

    #[test]
    fn human_units() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(8192), "8 KiB");
        assert_eq!(human(3 << 19), "1.5 MiB");
        assert_eq!(human(1 << 30), "1 GiB");
        assert_eq!(count(1, "frame"), "1 frame");
        assert_eq!(count(2, "frame"), "2 frames");
    }

    #[test]
    fn text_shows_every_vmo_and_hidden_node() {
        let (_vmos, view, names) = demo_family();
        let text = render(&view, &names, Format::Text);
        println!("{text}");
        assert_eq!(text.lines().count(), view.nodes.len(), "one line per node");
        for name in names.values() {
            assert!(
                text.lines().any(|l| l.contains(&format!("{name} (#"))),
                "{name} missing:\n{text}"
            );
        }
        assert!(hidden_count(&view) >= 1);
        assert_eq!(text.matches("(hidden #").count(), hidden_count(&view));
        assert!(text.contains("snapshot, open"));
        assert!(text.contains("at-least-on-write, open"));
        assert!(text.contains("one-way clone, open"));
        assert!(text.contains("slice of origin, window [4 KiB, 12 KiB)"));
        assert!(text.contains("created, open, size 16 KiB"));
        // The root is a hidden node (origin was snapshotted) and is not indented.
        assert!(text.lines().next().unwrap().starts_with("(hidden #"));
        // Deterministic.
        assert_eq!(text, render(&view, &names, Format::Text));
    }

    #[test]
    fn text_puts_children_below_their_parents() {
        let (_vmos, view, names) = demo_family();
        let text = render(&view, &names, Format::Text);
        let indent = |needle: &str| {
            let line = text.lines().find(|l| l.contains(needle)).unwrap();
            line.find(needle).unwrap()
        };
        let position = |needle: &str| text.find(needle).unwrap();
        // The slice is drawn directly under base, the legacy clone too.
        assert!(indent("window (#") > indent("origin (#"));
        assert!(position("window (#") > position("origin (#"));
        assert!(indent("legacy (#") > indent("origin (#"));
        // snap3 sees part of snap1's pages: its window is noted.
        let snap3 = text.lines().find(|l| l.contains("snap3 (#")).unwrap();
        assert!(snap3.contains("[offset 4 KiB, limit 8 KiB]"), "{snap3}");
    }

    #[test]
    fn unnamed_vmos_are_called_by_id() {
        let (_vmos, view, _) = demo_family();
        let text = render(&view, &BTreeMap::new(), Format::Text);
        assert!(text.contains(&format!("vmo#{}", view.this)));
    }

    #[test]
    fn single_vmo() {
        let frames = Arc::new(InMemoryFrames::new());
        let vmo = TestVmo::create(frames, 2 * P, VmoOptions::default()).unwrap();
        vmo.write(0, b"x").unwrap();
        let view = vmo.family_view();
        let names = BTreeMap::from([(view.this, "only".to_string())]);
        let text = render(&view, &names, Format::Text);
        assert_eq!(
            text,
            format!(
                "only (#{}): created, open, size 8 KiB, committed 4 KiB, populated 4 KiB, \
                 1 own frame\n",
                view.this
            )
        );
        let dot = render(&view, &names, Format::Dot);
        assert!(dot.starts_with("digraph family {"));
        assert!(!dot.contains("->"));
        let svg = render(&view, &names, Format::Svg);
        assert!(svg.contains("class=\"vmo\""));
        assert!(!svg.contains("<line"));
    }

    #[test]
    fn closed_vmo_kept_for_a_one_way_clone() {
        let frames = Arc::new(InMemoryFrames::new());
        let opts = VmoOptions::default();
        let parent = TestVmo::create(frames, 2 * P, opts).unwrap();
        parent.write(0, b"parent").unwrap();
        let clone = parent
            .create_child(ChildKind::OneWay, 0, 2 * P, opts)
            .unwrap();
        drop(parent);
        let view = clone.family_view();
        let names = BTreeMap::from([(view.this, "clone".to_string())]);
        let text = render(&view, &names, Format::Text);
        assert_eq!(text.lines().count(), view.nodes.len());
        assert!(text.contains("clone (#"));
        assert!(
            text.contains("closed"),
            "the parent is drawn closed:\n{text}"
        );
        let child_line = text.lines().find(|l| l.contains("clone (#")).unwrap();
        assert!(child_line.starts_with("└── "), "{text}");
    }

    #[test]
    fn dot_structure() {
        let (_vmos, view, names) = demo_family();
        let dot = render(&view, &names, Format::Dot);
        println!("{dot}");
        assert!(dot.starts_with("digraph family {\n"));
        assert!(dot.trim_end().ends_with('}'));
        assert_eq!(dot.matches('{').count(), dot.matches('}').count());
        for node in &view.nodes {
            assert!(dot.contains(&format!("  n{} [label=", node.id)));
        }
        for name in names.values() {
            assert!(dot.contains(&format!("{name} (#")));
        }
        assert_eq!(
            dot.matches("shape=ellipse, style=dashed").count(),
            hidden_count(&view)
        );
        // Every node but the root has one incoming edge.
        assert_eq!(dot.matches(" -> ").count(), view.nodes.len() - 1);
        let slice = view
            .nodes
            .iter()
            .find(|n| matches!(n.role, NodeRole::Slice { .. }))
            .unwrap();
        let NodeRole::Slice { target, .. } = slice.role else {
            unreachable!()
        };
        let edge = dot
            .lines()
            .find(|l| {
                l.contains(&format!("n{target} -> n{};", slice.id))
                    || l.contains(&format!("n{target} -> n{} [", slice.id))
            })
            .unwrap();
        assert!(edge.contains("style=dotted"), "{edge}");
        assert!(dot.contains("label=\"offset 4 KiB, limit 8 KiB\""));
    }

    #[test]
    fn dot_escapes_labels() {
        let frames = Arc::new(InMemoryFrames::new());
        let vmo = TestVmo::create(frames, P, VmoOptions::default()).unwrap();
        let view = vmo.family_view();
        let names = BTreeMap::from([(view.this, "a\"b\\c".to_string())]);
        let dot = render(&view, &names, Format::Dot);
        assert!(dot.contains(r#"a\"b\\c (#"#), "{dot}");
        assert!(dot.contains(r"\ncreated\nopen"));
    }

    #[test]
    fn svg_structure() {
        let (_vmos, view, names) = demo_family();
        let svg = render(&view, &names, Format::Svg);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<g ").count(), view.nodes.len());
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert_eq!(
            svg.matches("<g class=\"hidden\"").count(),
            hidden_count(&view)
        );
        assert!(svg.contains("stroke-dasharray=\"6,4\""));
        assert_eq!(svg.matches("<line").count(), view.nodes.len() - 1);
        for name in names.values() {
            assert!(svg.contains(&format!(">{name} (#")), "{name}");
        }
        // Boxes stay inside the picture and do not overlap.
        let width: u64 = attribute(&svg, "width").parse().unwrap();
        let height: u64 = attribute(&svg, "height").parse().unwrap();
        let mut boxes = Vec::new();
        for group in svg.split("<g ").skip(1) {
            let rect = &group[group.find("<rect").unwrap()..];
            let [x, y, w, h] =
                ["x", "y", "width", "height"].map(|a| attribute(rect, a).parse::<u64>().unwrap());
            assert!(x + w <= width && y + h <= height);
            boxes.push((x, y, w, h));
        }
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart =
                    a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    /// The value of the first `name="..."` attribute in `text`.
    fn attribute<'a>(text: &'a str, name: &str) -> &'a str {
        let key = format!(" {name}=\"");
        let start = text.find(&key).unwrap() + key.len();
        &text[start..start + text[start..].find('"').unwrap()]
    }

    #[test]
    fn svg_escapes_text() {
        let frames = Arc::new(InMemoryFrames::new());
        let vmo = TestVmo::create(frames, P, VmoOptions::default()).unwrap();
        let view = vmo.family_view();
        let names = BTreeMap::from([(view.this, "<a & 'b'>".to_string())]);
        let svg = render(&view, &names, Format::Svg);
        assert!(svg.contains("&lt;a &amp; &apos;b&apos;&gt; (#"), "{svg}");
        assert!(!svg.contains("<a "));
    }

    #[test]
    fn deep_chain_does_not_recurse() {
        let frames = Arc::new(InMemoryFrames::new());
        let opts = VmoOptions::default();
        let mut chain = vec![TestVmo::create(frames, P, opts).unwrap()];
        for _ in 0..2000 {
            let next = chain
                .last()
                .unwrap()
                .create_child(ChildKind::OneWay, 0, P, opts)
                .unwrap();
            chain.push(next);
        }
        let view = chain[0].family_view();
        let text = render(&view, &BTreeMap::new(), Format::Text);
        assert_eq!(text.lines().count(), 2001);
        let svg = render(&view, &BTreeMap::new(), Format::Svg);
        assert_eq!(svg.matches("<line").count(), 2000);
    }

    #[test]
    fn families_of_a_session() {
        use vm_kernel::zircon::ZX_VMO_CHILD_SNAPSHOT;
        use vm_kernel::UserBytes;

        let mut session = script::Session::new(1 << 10).unwrap();
        let calls = session.kernel.syscalls(&session.process);
        let a = calls.vmo_create(2 * P, 0).unwrap();
        calls.vmo_write(a, UserBytes::new(b"a"), 0).unwrap();
        let b = calls
            .vmo_create_child(a, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * P)
            .unwrap();
        let lone = calls.vmo_create(P, 0).unwrap();
        session.names.insert("zeta".into(), a);
        session.names.insert("beta".into(), b);
        session.names.insert("alpha".into(), lone);
        let families = families(&session);
        assert_eq!(families.len(), 2);
        // Ordered by first name: alpha's family, then beta's (holding zeta too).
        let first: Vec<&String> = families[0].1.values().collect();
        assert_eq!(first, ["alpha"]);
        let mut second: Vec<&String> = families[1].1.values().collect();
        second.sort();
        assert_eq!(second, ["beta", "zeta"]);
        assert_eq!(hidden_count(&families[1].0), 1);

        let text = draw(&families, Format::Text);
        assert!(text.contains("alpha (#") && text.contains("beta (#") && text.contains("zeta (#"));
        assert!(text.contains("\n\n"), "families apart:\n{text}");
        let dot = draw(&families, Format::Dot);
        assert_eq!(dot.matches("digraph family {").count(), 2);
        let svg = draw(&families, Format::Svg);
        assert_eq!(svg.matches("<svg").count(), 3, "one document, two pictures");
        assert!(svg.starts_with("<svg xmlns="));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn demo_script_uses_every_kind() {
        for word in [
            "create ",
            " snapshot ",
            " at-least-on-write ",
            " slice ",
            "clone ",
            "write ",
            "close ",
        ] {
            assert!(DEMO_SCRIPT.contains(word), "{word}");
        }
    }
}
