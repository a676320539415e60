// Bulwark console: a little progressive enhancement; every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // The new API key: select it on click, so it is easy to copy.
  const key = document.getElementById('new-api-key');
  if (key) {
    key.addEventListener('click', () => window.getSelection().selectAllChildren(key));
  }
  // Setup: drop spaces from a pasted code and token.
  const token = document.getElementById('token');
  if (token) {
    token.addEventListener('change', () => { token.value = token.value.trim(); });
  }
});
