"""Three independently written solutions of Dense, the tape walk and the optimizers (the corpus' sources).

Each maps a stub's qualname to the body a student would write in its place; ``EXTRA`` is module-level code
the student added to a file. A is vectorized with a moving-average helper, B loops and keeps state as
named arrays, C uses einsum, collects gradient pieces per tensor and updates copies in place.
"""

A = {
    "Dense.forward": """
inputs = backend.asarray(x)
weights = backend.asarray(self.w)
bias = backend.asarray(self.b)
out = inputs @ weights
return out + bias
""",
    "Dense.get_input_gradients": "return [self.w]\n",
    "Dense.get_weight_gradients": """
x = backend.asarray(self.inputs[0])
ones = backend.xp().ones_like(backend.asarray(self.b))
return [x, ones]
""",
    "Dense.compose_input_gradients": """
upstream = backend.asarray(J)
kernel_t = backend.asarray(self.w).T
return [upstream @ kernel_t]
""",
    "Dense.compose_weight_gradients": """
upstream = backend.asarray(J)
x = backend.asarray(self.inputs[0])
dw = x.T @ upstream
db = upstream.sum(axis=0)
return [dw, db]
""",
    "GradientTape._backpropagate": """
xp = backend.xp()
needed = self._depends_on(sources)
grads = {id(target): xp.ones(target.shape, dtype=_float(target))}
saved = {}
for rec in self.records[::-1]:
    key = id(rec.output)
    if key not in grads or key not in needed:
        continue
    J = grads[key]
    layer = rec.layer
    if id(layer) not in saved:
        saved[id(layer)] = (layer, dict(vars(layer)))
    vars(layer).update(rec.state)
    input_grads = layer.compose_input_gradients(J)
    for tensor, g in zip(rec.inputs, input_grads):
        if id(tensor) in needed and getattr(tensor, "trainable", True):
            _accumulate(grads, tensor, g)
    if any(id(w) in needed for w in layer.weights):
        weight_grads = layer.compose_weight_gradients(J)
        for w, g in zip(layer.weights, weight_grads):
            _accumulate(grads, w, g)
for layer, state in saved.values():
    vars(layer).update(state)
return grads
""",
    "BasicOptimizer.step": "return w - self.learning_rate * g\n",
    "SGD.step": """
if not self.momentum:
    return w - self.learning_rate * g
buf = state["v"] = g.copy() if "v" not in state else self.momentum * state["v"] + g
update = g + self.momentum * buf if self.nesterov else buf
return w - self.learning_rate * update
""",
    "RMSProp.step": """
avg = _moment(state.get("v", 0.0), g * g, self.beta)
state["v"] = avg
return w - self.learning_rate * g / (backend.xp().sqrt(avg) + self.epsilon)
""",
    "Adam.step": """
state["t"] = state.get("t", 0) + 1
state["m"] = _moment(state.get("m", 0.0), g, self.beta_1)
state["v"] = _moment(state.get("v", 0.0), g ** 2, self.beta_2)
m_hat = state["m"] / (1 - self.beta_1 ** state["t"])
v_hat = state["v"] / (1 - self.beta_2 ** state["t"])
return w - self.learning_rate * m_hat / (backend.xp().sqrt(v_hat) + self.epsilon)
""",
}

A_EXTRA = {
    "optimizers.py": '''

def _moment(average, value, beta):
    """One step of an exponential moving average."""
    return beta * average + (1 - beta) * value
''',
}

# A's optimizers with the helper inlined by hand (the disguise "a helper inlined").
A_INLINED = {
    **A,
    "RMSProp.step": """
avg = self.beta * state.get("v", 0.0) + (1 - self.beta) * (g * g)
state["v"] = avg
return w - self.learning_rate * g / (backend.xp().sqrt(avg) + self.epsilon)
""",
    "Adam.step": """
state["t"] = state.get("t", 0) + 1
state["m"] = self.beta_1 * state.get("m", 0.0) + (1 - self.beta_1) * g
state["v"] = self.beta_2 * state.get("v", 0.0) + (1 - self.beta_2) * g ** 2
m_hat = state["m"] / (1 - self.beta_1 ** state["t"])
v_hat = state["v"] / (1 - self.beta_2 ** state["t"])
return w - self.learning_rate * m_hat / (backend.xp().sqrt(v_hat) + self.epsilon)
""",
}

B = {
    "Dense.forward": """
xp = backend.xp()
rows = backend.asarray(x)
kernel = backend.asarray(self.w)
out = xp.zeros((rows.shape[0], self.output_size), dtype=kernel.dtype)
for i in range(rows.shape[0]):
    for j in range(self.output_size):
        out[i, j] = xp.dot(rows[i], kernel[:, j]) + backend.asarray(self.b)[j]
return out
""",
    "Dense.get_input_gradients": "kernel = self.w\nreturn [kernel]\n",
    "Dense.get_weight_gradients": """
xp = backend.xp()
features = backend.asarray(self.inputs[0])
return [features, xp.ones(self.output_size)]
""",
    "Dense.compose_input_gradients": """
xp = backend.xp()
grad = backend.asarray(J)
kernel = backend.asarray(self.w)
dx = xp.zeros((grad.shape[0], self.input_size))
for i in range(grad.shape[0]):
    dx[i] = kernel.dot(grad[i])
return [dx]
""",
    "Dense.compose_weight_gradients": """
xp = backend.xp()
grad = backend.asarray(J)
feats = backend.asarray(self.inputs[0])
dw = xp.zeros((self.input_size, self.output_size))
for n in range(grad.shape[0]):
    dw += xp.outer(feats[n], grad[n])
db = xp.zeros(self.output_size)
for n in range(grad.shape[0]):
    db += grad[n]
return [dw, db]
""",
    "GradientTape._backpropagate": """
import heapq

xp = backend.xp()
where = {id(r.output): i for i, r in enumerate(self.records)}
result = dict()
result[id(target)] = xp.ones(target.shape, dtype=_float(target))
todo = [-where[id(target)]] if id(target) in where else []
seen = set(todo)
originals = []
while todo:
    i = -heapq.heappop(todo)
    step = self.records[i]
    layer = step.layer
    originals.append((layer, dict(layer.__dict__)))
    layer.__dict__.update(step.state)
    upstream = result[id(step.output)]
    for arr, d in zip(step.inputs, layer.compose_input_gradients(upstream)):
        if getattr(arr, "trainable", True):
            _accumulate(result, arr, d)
            j = where.get(id(arr))
            if j is not None and -j not in seen:
                seen.add(-j)
                heapq.heappush(todo, -j)
    for weight, d in zip(layer.weights, layer.compose_weight_gradients(upstream)):
        _accumulate(result, weight, d)
for layer, state in reversed(originals):
    layer.__dict__.update(state)
return result
""",
    "BasicOptimizer.step": "delta = self.learning_rate * g\nreturn w - delta\n",
    "SGD.step": """
mu = self.momentum
if mu == 0.0:
    delta = self.learning_rate * g
    return w - delta
velocity = state.setdefault("velocity", None)
velocity = g if velocity is None else mu * velocity + g
state["velocity"] = velocity
if self.nesterov:
    velocity = g + mu * velocity
return w - self.learning_rate * velocity
""",
    "RMSProp.step": """
xp = backend.xp()
sq = state.get("sq")
if sq is None:
    sq = xp.zeros_like(g)
sq = self.beta * sq + (1.0 - self.beta) * xp.square(g)
state["sq"] = sq
denom = xp.sqrt(sq) + self.epsilon
return w - self.learning_rate * (g / denom)
""",
    "Adam.step": """
xp = backend.xp()
if not state:
    state["m"] = xp.zeros_like(g)
    state["v"] = xp.zeros_like(g)
    state["t"] = 0
state["t"] += 1
b1, b2 = self.beta_1, self.beta_2
state["m"] = b1 * state["m"] + (1.0 - b1) * g
state["v"] = b2 * state["v"] + (1.0 - b2) * xp.square(g)
corr1 = 1.0 - b1 ** state["t"]
corr2 = 1.0 - b2 ** state["t"]
lr_t = self.learning_rate * xp.sqrt(corr2) / corr1
return w - lr_t * state["m"] / (xp.sqrt(state["v"]) + self.epsilon * xp.sqrt(corr2))
""",
}

C = {
    "Dense.forward": """
xp = backend.xp()
return xp.add(xp.matmul(backend.asarray(x), backend.asarray(self.w)), backend.asarray(self.b))
""",
    "Dense.get_input_gradients": "grads = [self.w]\nreturn grads\n",
    "Dense.get_weight_gradients": """
inp = backend.asarray(self.inputs[0])
return [inp, backend.xp().ones(backend.asarray(self.b).shape)]
""",
    "Dense.compose_input_gradients": """
xp = backend.xp()
return [xp.einsum("bo,io->bi", backend.asarray(J), backend.asarray(self.w))]
""",
    "Dense.compose_weight_gradients": """
xp = backend.xp()
upstream, inp = backend.asarray(J), backend.asarray(self.inputs[0])
return [xp.einsum("bi,bo->io", inp, upstream), xp.einsum("bo->o", upstream)]
""",
    "GradientTape._backpropagate": """
xp = backend.xp()
flows = {id(target): [xp.ones(target.shape, dtype=_float(target))]}
restore = []
index = len(self.records) - 1
while index >= 0:
    entry = self.records[index]
    index -= 1
    incoming = flows.get(id(entry.output))
    if not incoming:
        continue
    total = sum(incoming[1:], incoming[0])
    flows[id(entry.output)] = [total]
    restore.append((entry.layer, entry.layer.__dict__.copy()))
    entry.layer.__dict__.update(entry.state)
    pieces = entry.layer.compose_input_gradients(total) + entry.layer.compose_weight_gradients(total)
    targets = list(entry.inputs) + list(entry.layer.weights)
    for thing, piece in zip(targets, pieces):
        if getattr(thing, "trainable", True):
            flows.setdefault(id(thing), []).append(piece)
while restore:
    layer, state = restore.pop()
    layer.__dict__.update(state)
return {key: sum(parts[1:], parts[0]) for key, parts in flows.items()}
""",
    "BasicOptimizer.step": "out = w.copy()\nout -= self.learning_rate * g\nreturn out\n",
    "SGD.step": """
out = w.copy()
if self.momentum > 0:
    if "buf" in state:
        state["buf"] *= self.momentum
        state["buf"] += g
    else:
        state["buf"] = g.copy()
    direction = state["buf"]
    if self.nesterov:
        direction = direction * self.momentum + g
else:
    direction = g
out -= self.learning_rate * direction
return out
""",
    "RMSProp.step": """
cache = state.setdefault("cache", backend.xp().zeros_like(g))
cache *= self.beta
cache += (1 - self.beta) * g ** 2
out = w.copy()
out -= self.learning_rate * g / (cache ** 0.5 + self.epsilon)
return out
""",
    "Adam.step": """
count = state["count"] = state.get("count", 0) + 1
first = state.setdefault("first", backend.xp().zeros_like(g))
second = state.setdefault("second", backend.xp().zeros_like(g))
first *= self.beta_1
first += (1 - self.beta_1) * g
second *= self.beta_2
second += (1 - self.beta_2) * g ** 2
unbiased_first = first / (1 - self.beta_1 ** count)
unbiased_second = second / (1 - self.beta_2 ** count)
out = w.copy()
out -= self.learning_rate * unbiased_first / (unbiased_second ** 0.5 + self.epsilon)
return out
""",
}
