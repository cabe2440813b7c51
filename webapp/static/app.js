// Keyboard triage on the listing page: c = confirmed, f = false positive, r = needs review.
// Plain script from this origin only (the CSP forbids inline script); forms work without it.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  const button = document.querySelector(`#triage-form button[data-key="${event.key}"]`);
  if (button) {
    event.preventDefault();
    button.form.requestSubmit(button);
  }
});
