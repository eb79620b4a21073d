/**
 * Slack's Block Kit limits (see /work/shared/reference/slack-platform.md), checked the way Slack
 * would reject a payload with `invalid_blocks`. The fake Slack runs it on every message and view it
 * receives; tests can also call it directly on what a builder produces.
 */

export interface BlockKitViolation {
  /** Where in the payload, e.g. `blocks.3.text.text`. */
  path: string;
  rule: string;
  message: string;
}

type Json = Record<string, unknown>;

const MESSAGE_BLOCKS = 50;
const VIEW_BLOCKS = 100;

/**
 * Checks a message payload (`chat.postMessage`, `chat.update`, `chat.postEphemeral`, response_url).
 *
 * @example
 * checkMessage({ text: 'New lead', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }] });
 * // [{ path: 'blocks.0.text.text', rule: 'header_text', message: '151 > 150 characters' }]
 */
export function checkMessage(payload: Json): BlockKitViolation[] {
  const out: BlockKitViolation[] = [];
  const blocks = payload['blocks'];
  const text = payload['text'];
  if (blocks !== undefined && (typeof text !== 'string' || text.trim() === '')) {
    out.push({
      path: 'text',
      rule: 'text_fallback',
      message: 'messages with blocks need a text fallback for notifications',
    });
  }
  if (blocks !== undefined) checkBlocks(blocks, 'blocks', MESSAGE_BLOCKS, out);
  return out;
}

/**
 * Checks a view (`views.open`, `views.update`, `views.publish`): modal or Home tab.
 *
 * @example
 * checkView({ type: 'modal', title: { type: 'plain_text', text: 'Assign lead' }, blocks: [] }); // []
 */
export function checkView(view: Json): BlockKitViolation[] {
  const out: BlockKitViolation[] = [];
  if (view['type'] === 'modal') {
    const title = textOf(view['title']);
    if (title === undefined)
      out.push({ path: 'view.title', rule: 'modal_title', message: 'modals need a title' });
    for (const field of ['title', 'submit', 'close'] as const) {
      maxLength(out, `view.${field}.text`, `modal_${field}`, textOf(view[field]), 24);
    }
  }
  maxLength(out, 'view.private_metadata', 'private_metadata', str(view['private_metadata']), 3_000);
  maxLength(out, 'view.callback_id', 'callback_id', str(view['callback_id']), 255);
  checkBlocks(view['blocks'] ?? [], 'view.blocks', VIEW_BLOCKS, out);
  return out;
}

function checkBlocks(blocks: unknown, path: string, limit: number, out: BlockKitViolation[]): void {
  if (!Array.isArray(blocks)) {
    out.push({ path, rule: 'blocks_array', message: 'blocks must be an array' });
    return;
  }
  if (blocks.length > limit) {
    out.push({ path, rule: 'block_count', message: `${blocks.length} > ${limit} blocks` });
  }
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  blocks.forEach((raw, index) => {
    const at = `${path}.${index}`;
    if (!isObject(raw)) {
      out.push({ path: at, rule: 'block_object', message: 'a block must be an object' });
      return;
    }
    const blockId = str(raw['block_id']);
    if (blockId !== undefined) {
      maxLength(out, `${at}.block_id`, 'block_id_length', blockId, 255);
      if (blockIds.has(blockId)) {
        out.push({
          path: `${at}.block_id`,
          rule: 'block_id_unique',
          message: `duplicate block_id ${blockId}`,
        });
      }
      blockIds.add(blockId);
    }
    checkBlock(raw, at, actionIds, out);
  });
}

function checkBlock(block: Json, at: string, actionIds: Set<string>, out: BlockKitViolation[]): void {
  switch (block['type']) {
    case 'section': {
      maxLength(out, `${at}.text.text`, 'section_text', textOf(block['text']), 3_000);
      const fields = block['fields'];
      if (Array.isArray(fields)) {
        if (fields.length > 10) {
          out.push({ path: `${at}.fields`, rule: 'section_fields', message: `${fields.length} > 10 fields` });
        }
        fields.forEach((field, i) => {
          maxLength(out, `${at}.fields.${i}.text`, 'section_field_text', textOf(field), 2_000);
        });
      }
      if (block['text'] === undefined && fields === undefined) {
        out.push({ path: at, rule: 'section_content', message: 'a section needs text or fields' });
      }
      if (isObject(block['accessory'])) checkElement(block['accessory'], `${at}.accessory`, actionIds, out);
      return;
    }
    case 'header':
      maxLength(out, `${at}.text.text`, 'header_text', textOf(block['text']), 150);
      return;
    case 'actions': {
      const elements = Array.isArray(block['elements']) ? block['elements'] : [];
      if (elements.length > 25) {
        out.push({
          path: `${at}.elements`,
          rule: 'actions_elements',
          message: `${elements.length} > 25 elements`,
        });
      }
      elements.forEach((element, i) => {
        if (isObject(element)) checkElement(element, `${at}.elements.${i}`, actionIds, out);
      });
      return;
    }
    case 'context': {
      const elements = Array.isArray(block['elements']) ? block['elements'] : [];
      if (elements.length > 10) {
        out.push({
          path: `${at}.elements`,
          rule: 'context_elements',
          message: `${elements.length} > 10 elements`,
        });
      }
      return;
    }
    case 'input':
      maxLength(out, `${at}.label.text`, 'input_label', textOf(block['label']), 2_000);
      if (isObject(block['element'])) checkElement(block['element'], `${at}.element`, actionIds, out);
      return;
    default:
      return;
  }
}

function checkElement(element: Json, at: string, actionIds: Set<string>, out: BlockKitViolation[]): void {
  const actionId = str(element['action_id']);
  if (actionId !== undefined) {
    maxLength(out, `${at}.action_id`, 'action_id_length', actionId, 255);
    if (actionIds.has(actionId)) {
      out.push({
        path: `${at}.action_id`,
        rule: 'action_id_unique',
        message: `duplicate action_id ${actionId}`,
      });
    }
    actionIds.add(actionId);
  }
  if (element['type'] === 'button') {
    maxLength(out, `${at}.text.text`, 'button_text', textOf(element['text']), 75);
    maxLength(out, `${at}.value`, 'button_value', str(element['value']), 2_000);
    maxLength(out, `${at}.url`, 'button_url', str(element['url']), 3_000);
  }
  const options = element['options'];
  if (Array.isArray(options)) {
    if (options.length > 100) {
      out.push({ path: `${at}.options`, rule: 'select_options', message: `${options.length} > 100 options` });
    }
    options.forEach((option, i) => {
      if (!isObject(option)) return;
      maxLength(out, `${at}.options.${i}.text.text`, 'option_text', textOf(option['text']), 75);
      maxLength(out, `${at}.options.${i}.value`, 'option_value', str(option['value']), 150);
    });
  }
}

function maxLength(
  out: BlockKitViolation[],
  path: string,
  rule: string,
  value: string | undefined,
  limit: number,
): void {
  // Slack counts characters, not UTF-16 units.
  const length = value === undefined ? 0 : [...value].length;
  if (length > limit) out.push({ path, rule, message: `${length} > ${limit} characters` });
}

function textOf(value: unknown): string | undefined {
  return isObject(value) ? str(value['text']) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
