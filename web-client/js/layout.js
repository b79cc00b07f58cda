// Where each tile goes: one large "stage" tile (a shared screen, a pinned participant, or for a
// pupil the teacher) and the others as a paged grid of thumbnails, so a class of thirty stays
// readable on a laptop and on a phone. Pure choice functions plus one class that moves elements;
// it never removes a tile from the document (that would pause its audio), it only hides it.

/** Thumbnails per page beside the stage, by the viewer's role. */
export const PAGE_SIZE = { teacher: 24, pupil: 8 };

/**
 * The tile for the stage, or null for a plain grid. A shared screen wins (the class looks at
 * it), then a participant the viewer pinned, then, for a pupil, the first teacher.
 *
 * @param {{id: string, role: string, screen?: boolean, self?: boolean}[]} entries in display order
 * @param {{viewerRole: string, pinned: string | null}} view
 */
export function chooseStage(entries, { viewerRole, pinned }) {
  const screen = entries.find((e) => e.screen && !e.self);
  if (screen) return screen.id;
  if (pinned && entries.some((e) => e.id === pinned)) return pinned;
  if (viewerRole !== 'teacher') {
    const teacher = entries.find((e) => e.role === 'teacher' && !e.self && !e.screen);
    if (teacher) return teacher.id;
  }
  return null;
}

/** The `page` (clamped) of `items`, `size` per page: `{items, page, pages}`. */
export function pageOf(items, page, size) {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(0, page), pages - 1);
  return { items: items.slice(current * size, (current + 1) * size), page: current, pages };
}

/** Places tile elements into the stage and the grid; keeps the page and the pin. */
export class Layout {
  #stage;
  #grid;
  #pager;
  #page = 0;
  /** The participant the viewer pinned, if any. */
  pinned = null;

  /**
   * @param {{stage: HTMLElement, grid: HTMLElement, pager: {root: HTMLElement, previous:
   *   HTMLButtonElement, next: HTMLButtonElement, label: HTMLElement}, pageLabel: (page: number,
   *   pages: number) => string}} parts
   */
  constructor({ stage, grid, pager, pageLabel }) {
    this.#stage = stage;
    this.#grid = grid;
    this.#pager = pager;
    this.pageLabel = pageLabel;
    this.onChange = () => {};
    pager.previous.addEventListener('click', () => this.#turn(-1));
    pager.next.addEventListener('click', () => this.#turn(1));
  }

  /**
   * Lays out `entries` (`{id, role, screen, self, element}`, display order) for a viewer of
   * `viewerRole`.
   */
  render(entries, viewerRole) {
    const stageId = chooseStage(entries, { viewerRole, pinned: this.pinned });
    const staged = entries.find((e) => e.id === stageId) ?? null;
    const rest = entries.filter((e) => e !== staged);
    // Our own preview is always visible (people need to see what they send); it does not take a
    // thumbnail slot.
    const self = rest.filter((e) => e.self);
    const others = rest.filter((e) => !e.self);
    const size = PAGE_SIZE[viewerRole] ?? PAGE_SIZE.pupil;
    const { items, page, pages } = pageOf(others, this.#page, size);
    this.#page = page;
    const shown = new Set([...self, ...items]);

    this.#stage.hidden = staged === null;
    if (staged && staged.element.parentElement !== this.#stage) this.#stage.replaceChildren(staged.element);
    if (staged) staged.element.hidden = false;
    for (const entry of rest) {
      if (entry.element.parentElement !== this.#grid) this.#grid.append(entry.element);
      entry.element.hidden = !shown.has(entry);
    }
    // Keep the grid in display order (self first) without re-inserting unchanged elements.
    let previous = null;
    for (const entry of [...self, ...others]) {
      const expected = previous ? previous.nextElementSibling : this.#grid.firstElementChild;
      if (expected !== entry.element) {
        if (previous) previous.after(entry.element);
        else this.#grid.prepend(entry.element);
      }
      previous = entry.element;
    }
    this.#grid.classList.toggle('beside-stage', staged !== null);
    this.#pager.root.hidden = pages <= 1;
    this.#pager.previous.disabled = page === 0;
    this.#pager.next.disabled = page >= pages - 1;
    this.#pager.label.textContent = this.pageLabel(page + 1, pages);
  }

  #turn(step) {
    this.#page += step;
    this.onChange();
  }
}
