console.log(JSON.stringify({ ok: true, n: 3 }));
