// The lab's schema: the ranges, defaults and names of the server's pydantic models, which
// hyperparameters each optimizer uses and the live keys (GET /api/lab/schema,
// server/lab_protocol.py lab_schema). The lab's pages name it with an element #lab-schema: a
// <link rel="preload"> to fetch it from (templates/lab.html, lab_room.html), or a <script
// type="application/json"> holding it. The modules keep only labels and layout. Without it (a
// page that is not the lab, or node running state.js) `SCHEMA` is null: no range is known, every
// value passes and the server checks.
const source = globalThis.document?.getElementById('lab-schema');
async function load(el) {
  if (el.tagName === 'SCRIPT') return JSON.parse(el.textContent);
  return fetch(el.href).then((r) => (r.ok ? r.json() : null)).catch(() => null);
}
export const SCHEMA = source ? await load(source) : null;

function resolve(root, node) {
  while (node?.$ref) node = root.$defs[node.$ref.split('/').pop()];
  if (node?.allOf?.length === 1) return resolve(root, node.allOf[0]);
  return node;
}

/** The JSON schema of a key of a model, e.g. field('Configure', 'surface', 'condition') or
 *  field('Configure', 'optimizers', '*', 'beta') ('*': the items of a list); nullable fields give
 *  their non-null branch with the field's default. Null when unknown. */
export function field(model, ...path) {
  const root = SCHEMA?.models?.[model];
  let node = root;
  let fallback;
  for (const key of path) {
    node = resolve(root, node);
    node = key === '*' ? node?.items : node?.properties?.[key];
    if (!node) return null;
    fallback = node.default;
    const some = node.anyOf?.find((option) => option.type !== 'null');
    if (some) node = { ...resolve(root, some), default: node.default };
  }
  node = resolve(root, node);
  return node ? { ...node, default: node.default ?? fallback } : null;
}

/** A number's range from its schema: {lo, hi, loOpen, hiOpen, integer} (unbounded when unknown). */
export function range(schema) {
  const s = schema ?? {};
  return {
    lo: s.exclusiveMinimum ?? s.minimum ?? -Infinity, loOpen: 'exclusiveMinimum' in s,
    hi: s.exclusiveMaximum ?? s.maximum ?? Infinity, hiOpen: 'exclusiveMaximum' in s,
    integer: s.type === 'integer',
  };
}

/** Whether x is a finite number in the range (a whole number if it must be). */
export function inRange(r, x) {
  return Number.isFinite(x) && (r.loOpen ? x > r.lo : x >= r.lo) && (r.hiOpen ? x < r.hi : x <= r.hi)
    && (!r.integer || Number.isInteger(x));
}

/** "(0, 100]", "[0, 1)", "[1, 1000]". */
export function rangeText(r) {
  return `${r.loOpen ? '(' : '['}${r.lo}, ${r.hi}${r.hiOpen ? ')' : ']'}`;
}
