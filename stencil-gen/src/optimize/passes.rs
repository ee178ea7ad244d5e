//! The rewrites, each on the blocks of one stencil. Every pass keeps the
//! meaning of the code: a block only moves when nothing falls into it, a
//! block is only removed when it has no label, and the block that ends the
//! code falls into the continuation.

use super::blocks::{is_instruction_text, Block, Item};
use super::isa::Isa;
use super::Stats;

/// What the passes need to know of the stencil's spelling.
pub struct Names<'a> {
    pub isa: &'a Isa,
    pub local_prefix: &'a str,
    /// The continuation symbol as written, without `@PLT`.
    pub continuation: &'a str,
    /// The label given to the final jump to the continuation.
    pub continue_label: &'a str,
}

impl Names<'_> {
    fn is_local(&self, target: &str) -> bool {
        target.starts_with(self.local_prefix)
    }

    /// Whether a branch of this kind may be aimed at `target`.
    fn may_target(&self, item: &Item, target: &str) -> bool {
        match item {
            Item::Branch { .. } => self.is_local(target) || self.isa.branch_to_symbol,
            _ => true,
        }
    }
}

fn set_target(item: &mut Item, new: &str) {
    if let Item::Branch { target, .. } | Item::Jump { target } = item {
        *target = new.to_string();
    }
}

/// Whether falling off the end of block `from - 1` reaches label `label`:
/// `label` is on block `from` or on an instruction-less block after it.
fn reaches(blocks: &[Block], from: usize, label: &str) -> bool {
    for block in &blocks[from.min(blocks.len())..] {
        if block.labels.iter().any(|l| l == label) {
            return true;
        }
        if !block.is_empty() {
            return false;
        }
    }
    false
}

fn block_of(blocks: &[Block], label: &str) -> Option<usize> {
    blocks
        .iter()
        .position(|b| b.labels.iter().any(|l| l == label))
}

/// Every jump and branch to the continuation symbol goes to a label on one
/// final `jmp _JIT_CONTINUE` instead: lowering drops that jump, so they
/// reach the next stencil with no hole. Whether any did.
pub fn route_continuations(blocks: &mut Vec<Block>, names: &Names<'_>) -> bool {
    let mut spelled = None;
    for block in blocks.iter_mut() {
        let Some(index) = block.last_index() else {
            continue;
        };
        let item = &mut block.items[index];
        let target = match item {
            Item::Branch { target, .. } | Item::Jump { target } => target.clone(),
            _ => continue,
        };
        if target.split('@').next() == Some(names.continuation) {
            spelled.get_or_insert(target);
            set_target(item, names.continue_label);
        }
    }
    let Some(spelled) = spelled else {
        return false;
    };
    blocks.push(Block {
        labels: vec![names.continue_label.to_string()],
        items: vec![Item::Jump { target: spelled }],
    });
    true
}

/// A branch or jump to a block that only jumps goes where that jump goes.
pub fn thread_jumps(blocks: &mut [Block], names: &Names<'_>, stats: &mut Stats) {
    for _ in 0..blocks.len() {
        let mut changed = false;
        for i in 0..blocks.len() {
            let Some(index) = blocks[i].last_index() else {
                continue;
            };
            let Some(target) = blocks[i].target().map(str::to_string) else {
                continue;
            };
            if !names.is_local(&target) || target == names.continue_label {
                continue;
            }
            let Some(at) = block_of(blocks, &target) else {
                continue;
            };
            // The first block from there with an instruction.
            let Some(first) = (at..blocks.len()).find(|&k| !blocks[k].is_empty()) else {
                continue;
            };
            // The final jump to the continuation is dropped by lowering:
            // jumping to its label is what falls into the next stencil.
            if blocks[first]
                .labels
                .iter()
                .any(|l| l == names.continue_label)
            {
                continue;
            }
            let instructions: Vec<&Item> = blocks[first]
                .items
                .iter()
                .filter(|i| is_instruction(i))
                .collect();
            // Only a block whose sole instruction is the jump.
            let [Item::Jump { target: next }] = instructions.as_slice() else {
                continue;
            };
            let next = next.clone();
            if next == target || !names.may_target(&blocks[i].items[index], &next) {
                continue;
            }
            set_target(&mut blocks[i].items[index], &next);
            stats.threaded += 1;
            changed = true;
        }
        if !changed {
            break;
        }
    }
}

fn is_instruction(item: &Item) -> bool {
    match item {
        Item::Line(line) => is_instruction_text(line),
        _ => true,
    }
}

/// `jcc L; jmp M; L:` becomes `jncc M; L:`.
pub fn invert_branches(blocks: &mut Vec<Block>, names: &Names<'_>, stats: &mut Stats) {
    let mut i = 0;
    while i + 1 < blocks.len() {
        if let Some(inverted) = inversion(blocks, i, names) {
            let index = blocks[i].last_index().unwrap_or_default();
            blocks[i].items[index] = inverted;
            blocks.remove(i + 1);
            stats.inverted += 1;
        } else {
            i += 1;
        }
    }
}

/// The inverted branch that ends block `i`, if the pattern holds there.
fn inversion(blocks: &[Block], i: usize, names: &Names<'_>) -> Option<Item> {
    let Some(Item::Branch {
        mnemonic,
        operands,
        target,
    }) = blocks[i].last()
    else {
        return None;
    };
    let jump = &blocks[i + 1];
    if !jump.labels.is_empty() || jump.items.iter().filter(|i| is_instruction(i)).count() != 1 {
        return None;
    }
    let Some(Item::Jump { target: far }) = jump.last() else {
        return None;
    };
    if !reaches(blocks, i + 2, target) {
        return None;
    }
    let inverse = names.isa.inverse(mnemonic)?;
    let inverted = Item::Branch {
        mnemonic: inverse.to_string(),
        operands: operands.clone(),
        target: far.clone(),
    };
    names.may_target(&inverted, far).then_some(inverted)
}

/// A block that ends in a jump to the continuation moves to the end, just
/// before the final jump, so that it falls into the next stencil: at once
/// when nothing falls into it, or, when the block before ends in a branch
/// around it, by inverting that branch to reach it where it moved.
pub fn move_continuation_blocks(blocks: &mut Vec<Block>, names: &Names<'_>, stats: &mut Stats) {
    let mut fresh = 0;
    for _ in 0..blocks.len() {
        let Some(end) = block_of(blocks, names.continue_label) else {
            return;
        };
        // Only one block can come last: stop once one does.
        let last_continues = matches!(blocks.get(end.wrapping_sub(1)).and_then(Block::last),
            Some(Item::Jump { target }) if target == names.continue_label);
        if end == 0 || blocks[end - 1].falls_through() || last_continues {
            return;
        }
        let found = (1..end.saturating_sub(1)).find_map(|b| {
            if !matches!(blocks[b].last(), Some(Item::Jump { target }) if target == names.continue_label)
            {
                return None;
            }
            let before = &blocks[b - 1];
            if !before.falls_through() {
                return Some((b, None));
            }
            let Some(Item::Branch {
                mnemonic,
                operands,
                target,
            }) = before.last()
            else {
                return None;
            };
            let inverse = names.isa.inverse(mnemonic)?;
            if !reaches(blocks, b + 1, target) {
                return None;
            }
            Some((b, Some((inverse, operands.clone()))))
        });
        let Some((b, invert)) = found else {
            return;
        };
        let mut block = blocks.remove(b);
        if let Some((inverse, operands)) = invert {
            let label = match block.labels.first() {
                Some(label) => label.clone(),
                None => {
                    let label = format!("{}stencil_hot{fresh}", names.local_prefix);
                    fresh += 1;
                    block.labels.push(label.clone());
                    label
                }
            };
            let before = &mut blocks[b - 1];
            let index = before.last_index().unwrap_or_default();
            before.items[index] = Item::Branch {
                mnemonic: inverse.to_string(),
                operands,
                target: label,
            };
            stats.inverted += 1;
        }
        blocks.insert(end - 1, block);
        stats.moved += 1;
    }
}

/// A jump or branch to the label that follows it goes; so does the final
/// jump to the continuation once nothing reaches it.
pub fn remove_redundant_jumps(blocks: &mut Vec<Block>, names: &Names<'_>, stats: &mut Stats) {
    for i in 0..blocks.len() {
        let Some(target) = blocks[i].target().map(str::to_string) else {
            continue;
        };
        if names.is_local(&target) && reaches(blocks, i + 1, &target) {
            let index = blocks[i].last_index().unwrap_or_default();
            blocks[i].items.remove(index);
            stats.removed += 1;
        }
    }
    if let Some(end) = block_of(blocks, names.continue_label) {
        let used = blocks
            .iter()
            .any(|b| b.target() == Some(names.continue_label));
        if !used && end > 0 && !blocks[end - 1].falls_through() {
            blocks.remove(end);
        }
    }
}
