// Draws the yearly trusted-flagger figures (DSA Art. 22(3)) from the JSON the server embedded (data, not script: CSP-safe).
(function () {
  const holder = document.getElementById("liaison-data");
  if (!holder || typeof Chart === "undefined") return;
  const data = JSON.parse(holder.textContent);
  const palette = { removed: "#27ae60", restricted: "#e67e22", geo_blocked: "#f1c40f", declined: "#c0392b",
    removed_claimed: "#16a085", seller_deleted: "#7f8c8d", no_action_yet: "#2c3e50" };
  const platforms = data.rows.map((r) => r.platform);
  new Chart(document.getElementById("chart-yearly"), {
    type: "bar",
    data: {
      labels: platforms,
      datasets: Object.keys(data.actions).map((action) => ({
        label: action.replace(/_/g, " "),
        data: data.rows.map((r) => r[action]),
        backgroundColor: palette[action] || "#1f5fbf",
      })),
    },
    options: { animation: false, responsive: true, plugins: { legend: { position: "bottom" } },
      scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } },
  });
})();
