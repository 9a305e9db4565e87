// The playground's "Search" link (top bar): it opens /search with the current experiment, which
// the playground keeps in its URL hash (state.js writes it with history.replaceState, so no event
// tells when it changes: the link takes the hash whenever it is about to be followed).
const link = document.getElementById('search-link');
if (link) {
  const sync = () => { link.href = `/search${location.hash}`; };
  for (const event of ['pointerdown', 'focus', 'mouseenter', 'click', 'auxclick']) link.addEventListener(event, sync);
  sync();
}
