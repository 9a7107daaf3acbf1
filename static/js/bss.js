// Small behaviours shared by every page; htmx does the partial updates.
document.addEventListener("click", (event) => {
  const confirmButton = event.target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.dataset.confirm)) {
    event.preventDefault();
  }
  const copyButton = event.target.closest("[data-copy]");
  if (copyButton) {
    const source = document.querySelector(copyButton.dataset.copy);
    if (source) navigator.clipboard.writeText(source.value || source.textContent);
  }
  if (!event.target.closest(".app-search")) {
    const dropdown = document.getElementById("search-dropdown");
    if (dropdown) dropdown.innerHTML = "";
  }
});
