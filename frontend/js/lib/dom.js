// A tiny element builder shared by the page scripts: attributes, event handlers, text and children in one call.

/**
 * The first element matching `selector` under `root` (typed loosely as an HTMLElement: the pages' markup is
 * known; callers that need an input's or form's own properties say so with a cast).
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(selector, root = document) {
  return /** @type {HTMLElement} */ (root.querySelector(selector));
}

/**
 * @param {string} tag
 * @param {Record<string, any>} [attrs]  "text" sets the text, "class" the class name, on… a listener; true
 *   sets a boolean attribute; null, undefined and false leave the attribute out
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(.../** @type {(Node | string)[]} */ (children.filter((c) => c !== null && c !== undefined)));
  return node;
}
