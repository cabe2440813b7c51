// Draws the overview's lag chart from the JSON the server embedded (data, not script: CSP-safe).
(function () {
  const holder = document.getElementById("lag-data");
  if (!holder || typeof Chart === "undefined") return;
  const rows = JSON.parse(holder.textContent);
  const series = [
    ["detection_median_h", "detection (posted → flagged)", "#1f5fbf"],
    ["review_median_h", "review (flagged → sent)", "#e67e22"],
    ["platform_median_h", "platform (sent → removed; none = not reached)", "#c0392b"],
  ];
  new Chart(document.getElementById("chart-lags"), {
    type: "bar",
    data: {
      labels: rows.map((r) => r.group),
      datasets: series.map(([key, label, color]) => ({ label, data: rows.map((r) => r[key]), backgroundColor: color })),
    },
    options: { animation: false, responsive: true, plugins: { legend: { position: "bottom" } } },
  });
})();
