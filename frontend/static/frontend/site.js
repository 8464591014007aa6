// Selects marked data-autosubmit send their form when changed (language, decades map). A plain file
// rather than an inline onchange handler, which the Content-Security-Policy refuses.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && "autosubmit" in target.dataset && target.form) target.form.submit();
});
