() => {
  // Click-to-evidence. A checked answer sentence is a span.pc-sentence whose classes name its answer
  // (pc-a-<answer id>) and the evidence sentences the support check recorded for it (pc-e-<arXiv id>-<index>,
  // ui/render.py; classes because Gradio's sanitizer drops data-* attributes). A click on the sentence, or on
  // one of its citations, opens that answer's sources panel, scrolls to the cited paper and highlights exactly
  // those evidence sentences. Ctrl/Cmd/Shift-click on a citation still opens arxiv.org.
  // Hovering a sentence marks the same evidence in its open sources panel (pc-hover, a lighter mark that
  // neither scrolls nor opens a folded panel, so the page does not move under the pointer); leaving it unmarks.
  const ARXIV = 'https://arxiv.org/abs/';
  const LIT = 'pc-lit';
  const HOVER = 'pc-hover';
  const safe = id => id.replace(/[^A-Za-z0-9]/g, '-');
  const classesOf = (element, prefix) => [...element.classList].filter(c => c.startsWith(prefix));
  const panelOf = answer => document.querySelector('.pc-sources.' + answer);

  function highlight(panel, sentence, cited) {
    let wanted = classesOf(sentence, 'pc-e-');
    if (cited) wanted = wanted.filter(c => c.startsWith('pc-e-' + safe(cited) + '-'));
    document.querySelectorAll('.' + LIT).forEach(e => e.classList.remove(LIT));
    const lit = wanted.flatMap(c => [...panel.querySelectorAll('li.' + c)]);
    lit.forEach(li => li.classList.add(LIT));
    sentence.classList.add(LIT);
    const card = cited && panel.querySelector('li[class*="pc-e-' + safe(cited) + '-"]');
    const target = lit[0] || (card && card.closest('.pc-card')) || panel;
    target.scrollIntoView({block: 'center'});
  }

  function show(sentence, cited) {
    const answer = classesOf(sentence, 'pc-a-')[0];
    if (!answer) return false;
    const open = panelOf(answer);
    if (open) {
      highlight(open, sentence, cited);
      return true;
    }
    // A folded panel has no content in the page: open it (its title is a button), then wait for its cards.
    const row = sentence.closest('.message-row');
    const toggle = row && row.querySelector('.thought-group .title');
    if (!toggle) return false;
    toggle.click();
    const started = Date.now();
    const wait = () => {
      const panel = panelOf(answer);
      if (panel) highlight(panel, sentence, cited);
      else if (Date.now() - started < 5000) requestAnimationFrame(wait);
    };
    requestAnimationFrame(wait);
    return true;
  }

  document.addEventListener('click', event => {
    const sentence = event.target.closest && event.target.closest('.pc-sentence');
    if (!sentence) return;
    const link = event.target.closest('a');
    if (link && (event.ctrlKey || event.metaKey || event.shiftKey)) return;
    const href = link ? link.getAttribute('href') || '' : '';
    const cited = href.startsWith(ARXIV) ? href.slice(ARXIV.length) : null;
    if (show(sentence, cited) && link) event.preventDefault();
  }, true);

  const sentenceAt = event => event.target.closest && event.target.closest('.pc-sentence');
  const unhover = () => document.querySelectorAll('.' + HOVER).forEach(e => e.classList.remove(HOVER));

  document.addEventListener('mouseover', event => {
    const sentence = sentenceAt(event);
    if (!sentence || sentence.contains(event.relatedTarget)) return;  // moved within the sentence
    unhover();
    const answer = classesOf(sentence, 'pc-a-')[0];
    const panel = answer && panelOf(answer);
    if (!panel) return;
    classesOf(sentence, 'pc-e-').forEach(c => panel.querySelectorAll('li.' + c).forEach(li => li.classList.add(HOVER)));
  });

  document.addEventListener('mouseout', event => {
    const sentence = sentenceAt(event);
    if (sentence && !sentence.contains(event.relatedTarget)) unhover();
  });
}
