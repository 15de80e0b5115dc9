// The ⓘ buttons that explain, in place, what a method, a metric or a view shows (texts:
// src/shared/explanations.ts). A button toggles a note region below its controls: a disclosure
// (aria-expanded, aria-controls), readable by keyboard and screen reader, that never covers the
// pictures. Several buttons may share one region (the Compare tiles): it shows the last one pressed.
import { paperLine, type Explanation } from '../src/shared/explanations';
import type { VscodeButton } from './components';

let regionCount = 0;

export class ExplanationRegion {
  readonly element = document.createElement('div');
  private owner: VscodeButton | undefined;
  private ownerKey: string | undefined;
  private content: (() => Explanation[]) | undefined;

  constructor(testid: string) {
    this.element.className = 'explanation';
    this.element.id = `explanation-${++regionCount}`;
    this.element.dataset.testid = testid;
    this.element.setAttribute('role', 'note');
    this.element.hidden = true;
  }

  /**
   * An ⓘ button that opens this region with `content` (read when opened: the method may have changed).
   * `key` names what it explains, so a button drawn again (a Compare tile re-rendered) keeps the region open.
   */
  button(testid: string, label: string, content: () => Explanation[], key = testid): VscodeButton {
    // A secondary vscode-button (the panel's controls are @vscode-elements) holding the letter i:
    // not the ⓘ character, which many Linux fonts have no glyph for. Open, it turns primary.
    const button = document.createElement('vscode-button') as VscodeButton;
    button.setAttribute('secondary', '');
    button.dataset.explainKey = key;
    button.className = 'info-button';
    button.textContent = 'i';
    button.dataset.testid = testid;
    button.setAttribute('aria-label', label);
    button.title = label;
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', this.element.id);
    button.addEventListener('click', (event) => {
      // Inside a Compare tile, the tile itself enlarges on click: the button is not the tile.
      event.stopPropagation();
      this.toggle(button, content);
    });
    button.addEventListener('keydown', (event) => event.stopPropagation());
    return button;
  }

  /** The open region follows what it explains (another method picked while it is open). */
  refresh(): void {
    if (this.owner && !this.owner.isConnected && this.ownerKey !== undefined) {
      const again = document.querySelector<VscodeButton>(`button[data-explain-key="${CSS.escape(this.ownerKey)}"][aria-controls="${this.element.id}"]`);
      if (again) {
        this.owner = again;
        setExpanded(again, true);
      }
    }
    if (this.owner && this.content && this.owner.isConnected) {
      this.render(this.content());
    } else if (this.owner) {
      this.close();
    }
  }

  close(): void {
    if (this.owner) {
      setExpanded(this.owner, false);
    }
    this.owner = undefined;
    this.ownerKey = undefined;
    this.content = undefined;
    this.element.hidden = true;
  }

  private toggle(button: VscodeButton, content: () => Explanation[]): void {
    if (this.owner === button) {
      this.close();
      return;
    }
    if (this.owner) {
      setExpanded(this.owner, false);
    }
    this.owner = button;
    this.ownerKey = button.dataset.explainKey;
    this.content = content;
    setExpanded(button, true);
    this.render(content());
    this.element.hidden = false;
  }

  private render(explanations: Explanation[]): void {
    this.element.replaceChildren(
      ...explanations.map((explanation) => {
        const section = document.createElement('section');
        const title = document.createElement('strong');
        title.textContent = explanation.title;
        const text = document.createElement('p');
        text.textContent = explanation.text;
        const paper = document.createElement('p');
        paper.className = 'paper';
        paper.textContent = paperLine(explanation);
        section.append(title, text, paper);
        return section;
      }),
    );
  }
}

/** The disclosure state, said (aria-expanded) and shown (primary while open). */
function setExpanded(button: VscodeButton, expanded: boolean): void {
  button.setAttribute('aria-expanded', String(expanded));
  button.toggleAttribute('secondary', !expanded);
}
