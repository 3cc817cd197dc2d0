"""A synthetic class of backprop_numpy for the similarity tests: independent solutions, planted copies.

Eight students solve the assignment independently, in styles of their own, but
several write what everybody writes (``np.maximum(0, inputs)``, the ``np.dot``
affine layer, the same chain of ``forward`` calls).  Planted among them:

* ``copy_a1`` and ``copy_a2``: ``ind_a`` with variables renamed, the code
  reformatted, comments and strings changed (the three form a group);
* ``copy_b``: ``ind_b`` with its answer cells in another order;
* ``copy_c``: ``ind_c`` with a helper moved out into a cell of its own (split)
  and two answers merged into one cell;
* ``ind_d`` and ``ind_e`` write different code but share one rare wrong answer
  (a negated ``d_bias``) in their check records; ``ind_f``, ``ind_g`` and
  ``ind_h`` share a common one (the missing 1/N), which is no evidence.

Plus two untouched releases and two copies of the teacher's own solution, whose
code is all given.  Check records are written as ``store.py`` writes them.
"""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from autograder.demo_class import solution_notebook

__all__ = ["ASSIGNMENT", "PLANTED", "STUDENTS", "INDEPENDENT", "CANONICAL", "build"]

ASSIGNMENT = "backprop_numpy"
ROOT = Path(__file__).resolve().parent.parent
ORDER = ("affine", "relu", "cross-entropy", "feedforward")

# each student: answer cell -> the code replacing each stub of the release, in order
A = {
    "affine": ["assert inputs.ndim == 2, 'inputs must be a matrix'\n"
               "out = np.dot(inputs, weight) + bias",
               "d_inputs = np.dot(d_out, weight.T)\nd_weight = np.dot(inputs.T, d_out)\n"
               "d_bias = np.sum(d_out, axis=0)"],
    "relu": ["out = np.maximum(0, inputs)", "d_inputs = d_out * (inputs > 0)"],
    "cross-entropy": [
        "z = logits - np.max(logits, axis=1, keepdims=True)\n"
        "exp_z = np.exp(z)  # exponentiate the shifted logits\n"
        "sum_exp = np.sum(exp_z, axis=1, keepdims=True)\n"
        "probs = exp_z / sum_exp\n"
        "log_likelihood = z - np.log(sum_exp)\n"
        "loss = -np.sum(labels * log_likelihood) / logits.shape[0]\n"
        "loss = float(loss)",
        "batch = probs.shape[0]\nd_logits = d_out * (probs - labels) / batch"],
    "feedforward": [
        "self.layer1 = Affine()\nself.activation = ReLU()\nself.layer2 = Affine()\n"
        "self.loss_fn = CategoricalCrossEntropy()",
        "a1 = self.layer1.forward(X, self.params['W1'], self.params['b1'])\n"
        "h1 = self.activation.forward(a1)\n"
        "scores = self.layer2.forward(h1, self.params['W2'], self.params['b2'])\n"
        "Y_pred = softmax(scores, axis=1)",
        "a1 = self.layer1.forward(X, self.params['W1'], self.params['b1'])\n"
        "h1 = self.activation.forward(a1)\n"
        "scores = self.layer2.forward(h1, self.params['W2'], self.params['b2'])\n"
        "loss = self.loss_fn.forward(scores, Y)\n"
        "# backward pass, last layer first\n"
        "d_scores, _ = self.loss_fn.backward()\n"
        "d_h1, d_W2, d_b2 = self.layer2.backward(d_scores)\n"
        "d_a1 = self.activation.backward(d_h1)\n"
        "_, d_W1, d_b1 = self.layer1.backward(d_a1)\n"
        "self.params['W1'] -= self.learning_rate * d_W1\n"
        "self.params['b1'] -= self.learning_rate * d_b1\n"
        "self.params['W2'] -= self.learning_rate * d_W2\n"
        "self.params['b2'] -= self.learning_rate * d_b2"],
}

# ind_a renamed, reformatted, comments and strings changed
COPY_A1 = {
    "affine": ["assert inputs.ndim==2, \"expected a 2-D batch\"\n"
               "out = np.dot( inputs,weight )+bias   # affine map",
               "d_inputs = np.dot(d_out,\n                  weight.T)\n"
               "d_weight = np.dot(inputs.T, d_out)\nd_bias = np.sum(d_out,axis=0)"],
    "relu": ["out = np.maximum(0,inputs)", "d_inputs = d_out*(inputs>0)"],
    "cross-entropy": [
        "shifted = logits - np.max(logits, axis = 1, keepdims = True)\n"
        "e = np.exp(shifted)\n"
        "denominator = np.sum(e, axis=1, keepdims=True)  # row sums\n"
        "probs = e / denominator\n"
        "log_p = shifted - np.log(denominator)\n"
        "loss = -np.sum(labels * log_p) / logits.shape[0]\n"
        "loss = float(loss)",
        "n = probs.shape[0]\n\nd_logits = d_out*(probs-labels)/n"],
    "feedforward": [
        "self.first = Affine()\nself.nonlinearity = ReLU()\nself.second = Affine()\n"
        "self.objective = CategoricalCrossEntropy()",
        "pre = self.first.forward(X, self.params[\"W1\"], self.params[\"b1\"])\n"
        "post = self.nonlinearity.forward(pre)\n"
        "out_scores = self.second.forward(post,\n"
        "                                 self.params[\"W2\"],\n"
        "                                 self.params[\"b2\"])\n"
        "Y_pred = softmax(out_scores, axis=1)",
        "pre = self.first.forward(X, self.params[\"W1\"], self.params[\"b1\"])\n"
        "post = self.nonlinearity.forward(pre)\n"
        "out_scores = self.second.forward(post, self.params[\"W2\"], self.params[\"b2\"])\n"
        "loss = self.objective.forward(out_scores, Y)\n"
        "g_scores, _ = self.objective.backward()   # gradient of the loss\n"
        "g_post, g_W2, g_b2 = self.second.backward(g_scores)\n"
        "g_pre = self.nonlinearity.backward(g_post)\n"
        "_, g_W1, g_b1 = self.first.backward(g_pre)\n"
        "self.params[\"W1\"] -= self.learning_rate*g_W1\n"
        "self.params[\"b1\"] -= self.learning_rate*g_b1\n"
        "self.params[\"W2\"] -= self.learning_rate*g_W2\n"
        "self.params[\"b2\"] -= self.learning_rate*g_b2"],
}


def _renamed(blocks: dict, names: dict) -> dict:
    import re
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return {cell: [pattern.sub(lambda m: names[m[1]], b) for b in bs] for cell, bs in blocks.items()}


COPY_A2 = _renamed(A, {"z": "centred", "exp_z": "ez", "sum_exp": "total", "batch": "size",
                       "log_likelihood": "logp", "a1": "u", "h1": "v", "scores": "logits_out",
                       "layer1": "lin1", "layer2": "lin2", "activation": "act", "loss_fn": "crit",
                       "d_scores": "gs", "d_h1": "gv", "d_a1": "gu"})
COPY_A2["cross-entropy"][0] = COPY_A2["cross-entropy"][0].replace(
    "  # exponentiate the shifted logits", "")

B = {
    "affine": ["out = inputs @ weight + bias",
               "d_weight = inputs.T @ d_out\nd_bias = d_out.sum(axis=0)\nd_inputs = d_out @ weight.T"],
    "relu": ["out = inputs * (inputs > 0)", "d_inputs = np.where(inputs > 0, d_out, 0.0)"],
    "cross-entropy": [
        "m = logits.max(axis=1, keepdims=True)\n"
        "lse = m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True))\n"
        "log_p = logits - lse\nprobs = np.exp(log_p)\n"
        "loss = float(-(labels * log_p).sum(axis=1).mean())",
        "d_logits = (probs - labels) * d_out / len(probs)"],
    "feedforward": [
        "self.layers = [Affine(), ReLU(), Affine()]\n"
        "self.cross_entropy = CategoricalCrossEntropy()",
        "first, act, second = self.layers\n"
        "z = act.forward(first.forward(X, self.params['W1'], self.params['b1']))\n"
        "Y_pred = softmax(second.forward(z, self.params['W2'], self.params['b2']), axis=1)",
        "first, act, second = self.layers\n"
        "W1, b1, W2, b2 = (self.params[k] for k in ('W1', 'b1', 'W2', 'b2'))\n"
        "z = act.forward(first.forward(X, W1, b1))\n"
        "loss = self.cross_entropy.forward(second.forward(z, W2, b2), Y)\n"
        "g, _ = self.cross_entropy.backward()\n"
        "g, gW2, gb2 = second.backward(g)\n"
        "g, gW1, gb1 = first.backward(act.backward(g))\n"
        "grads = dict(W1=gW1, b1=gb1, W2=gW2, b2=gb2)\n"
        "self.params = {k: v - self.learning_rate * grads[k] for k, v in self.params.items()}"],
}
COPY_B = _renamed(B, {"lse": "norm", "log_p": "lp", "first": "one", "act": "mid", "second": "two",
                      "grads": "gradients", "gW2": "dW2", "gb2": "db2", "gW1": "dW1", "gb1": "db1"})

_HELPER = ("def stable_log_softmax(z):\n    \"\"\"Row-wise log-softmax, shifted for stability.\"\"\"\n"
           "    shifted = z - z.max(axis=-1, keepdims=True)\n"
           "    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))\n")
C = {
    "affine": ["out = np.einsum('nd,dh->nh', inputs, weight) + bias[None, :]",
               "d_inputs = np.einsum('nh,dh->nd', d_out, weight)\n"
               "d_weight = np.einsum('nd,nh->dh', inputs, d_out)\n"
               "d_bias = np.einsum('nh->h', d_out)"],
    "relu": ["out = np.clip(inputs, 0, None)",
             "mask = np.greater(inputs, 0).astype(d_out.dtype)\nd_inputs = mask * d_out"],
    "cross-entropy": [
        "log_probs = stable_log_softmax(logits)\nprobs = np.exp(log_probs)\n"
        "n_samples = logits.shape[0]\n"
        "loss = float(-np.einsum('nk,nk->', labels, log_probs) / n_samples)",
        "n_samples = probs.shape[0]\nd_logits = np.multiply(d_out, probs - labels) / n_samples"],
    "feedforward": [
        "self.affine_in, self.nonlin, self.affine_out = Affine(), ReLU(), Affine()\n"
        "self.criterion = CategoricalCrossEntropy()",
        "hid = self.nonlin.forward(self.affine_in.forward(X, self.params['W1'], self.params['b1']))\n"
        "out = self.affine_out.forward(hid, self.params['W2'], self.params['b2'])\n"
        "Y_pred = np.exp(stable_log_softmax(out))",
        "params = self.params\n"
        "hid = self.nonlin.forward(self.affine_in.forward(X, params['W1'], params['b1']))\n"
        "out = self.affine_out.forward(hid, params['W2'], params['b2'])\n"
        "loss = self.criterion.forward(out, Y)\n"
        "grad_out, _ = self.criterion.backward(1.0)\n"
        "grad_hid, grads_W2, grads_b2 = self.affine_out.backward(grad_out)\n"
        "grad_hid = self.nonlin.backward(grad_hid)\n"
        "_, grads_W1, grads_b1 = self.affine_in.backward(grad_hid)\n"
        "for key, grad in zip(['W1', 'b1', 'W2', 'b2'], [grads_W1, grads_b1, grads_W2, grads_b2]):\n"
        "    params[key] = params[key] - self.learning_rate * grad"],
}

D = {
    "affine": ["assert inputs.shape[1] == weight.shape[0], 'shape mismatch'\n"
               "out = np.matmul(inputs, weight)\nout = out + bias",
               "d_inputs = np.matmul(d_out, np.transpose(weight))\n"
               "d_weight = np.matmul(np.transpose(inputs), d_out)\n"
               "d_bias = -np.sum(d_out, axis=0)"],
    "relu": ["out = np.where(inputs > 0, inputs, 0)",
             "grad = np.ones_like(inputs)\ngrad[inputs <= 0] = 0\nd_inputs = grad * d_out"],
    "cross-entropy": [
        "N = logits.shape[0]\n"
        "stable = logits - np.amax(logits, axis=1).reshape(-1, 1)\n"
        "denominators = np.sum(np.exp(stable), axis=1).reshape(-1, 1)\n"
        "probs = np.exp(stable) / denominators\n"
        "correct = np.sum(labels * (stable - np.log(denominators)), axis=1)\n"
        "loss = float(-np.mean(correct))",
        "N = labels.shape[0]\nd_logits = (probs - labels) / N * d_out"],
    "feedforward": [
        "self.fc1 = Affine()\nself.act = ReLU()\nself.fc2 = Affine()\n"
        "self.ce = CategoricalCrossEntropy()",
        "out1 = self.fc1.forward(X, self.params['W1'], self.params['b1'])\n"
        "out2 = self.act.forward(out1)\n"
        "out3 = self.fc2.forward(out2, self.params['W2'], self.params['b2'])\n"
        "Y_pred = softmax(out3, axis=1)",
        "out1 = self.fc1.forward(X, self.params['W1'], self.params['b1'])\n"
        "out2 = self.act.forward(out1)\n"
        "out3 = self.fc2.forward(out2, self.params['W2'], self.params['b2'])\n"
        "loss = self.ce.forward(out3, Y)\n"
        "dout3, _ = self.ce.backward()\n"
        "dout2, dW2, db2 = self.fc2.backward(dout3)\n"
        "dout1 = self.act.backward(dout2)\n"
        "_, dW1, db1 = self.fc1.backward(dout1)\n"
        "updates = {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}\n"
        "for name, gradient in updates.items():\n"
        "    self.params[name] -= self.learning_rate * gradient"],
}

E = {
    "affine": ["out = (inputs[:, :, None] * weight[None, :, :]).sum(axis=1) + bias",
               "d_inputs = (d_out[:, None, :] * weight[None, :, :]).sum(axis=2)\n"
               "d_weight = (inputs[:, :, None] * d_out[:, None, :]).sum(axis=0)\n"
               "d_bias = -d_out.sum(0)"],
    "relu": ["out = inputs.clip(min=0)", "d_inputs = d_out.copy()\nd_inputs[inputs <= 0] = 0"],
    "cross-entropy": [
        "from scipy.special import logsumexp\n"
        "log_softmax = logits - logsumexp(logits, axis=1, keepdims=True)\n"
        "probs = np.exp(log_softmax)\n"
        "loss = -float((log_softmax * labels).sum()) / len(labels)",
        "d_logits = d_out / len(labels) * (probs - labels)"],
    "feedforward": [
        "for name, layer in zip(('first', 'relu', 'second'), (Affine(), ReLU(), Affine())):\n"
        "    setattr(self, name, layer)\nself.loss = CategoricalCrossEntropy()",
        "Y_pred = softmax(self.second.forward(self.relu.forward(self.first.forward(\n"
        "    X, self.params['W1'], self.params['b1'])), self.params['W2'], self.params['b2']), axis=1)",
        "P = self.params\npre = self.first.forward(X, P['W1'], P['b1'])\n"
        "post = self.relu.forward(pre)\nlogits = self.second.forward(post, P['W2'], P['b2'])\n"
        "loss = self.loss.forward(logits, Y)\nback = self.loss.backward()[0]\n"
        "back, P_grad_W2, P_grad_b2 = self.second.backward(back)\n"
        "back = self.relu.backward(back)\n"
        "P_grad_W1, P_grad_b1 = self.first.backward(back)[1:]\n"
        "lr = self.learning_rate\n"
        "self.params = {'W1': P['W1'] - lr * P_grad_W1, 'b1': P['b1'] - lr * P_grad_b1,\n"
        "               'W2': P['W2'] - lr * P_grad_W2, 'b2': P['b2'] - lr * P_grad_b2}"],
}

F = {
    "affine": ["out = inputs.dot(weight) + bias",
               "d_inputs = d_out.dot(weight.T)\nd_weight = inputs.T.dot(d_out)\n"
               "d_bias = d_out.sum(axis=0)"],
    "relu": ["out = np.maximum(0, inputs)", "d_inputs = d_out * (inputs > 0)"],
    "cross-entropy": [
        "exps = np.exp(logits - np.max(logits, axis=1, keepdims=True))\n"
        "probs = exps / np.sum(exps, axis=1, keepdims=True)\n"
        "loss = float(-np.sum(labels * np.log(probs + 1e-12)) / logits.shape[0])",
        "d_logits = d_out * (probs - labels)"],
    "feedforward": [
        "self.hidden = Affine()\nself.relu = ReLU()\nself.output = Affine()\n"
        "self.cross_entropy = CategoricalCrossEntropy()",
        "h = self.relu.forward(self.hidden.forward(X, self.params['W1'], self.params['b1']))\n"
        "Y_pred = softmax(self.output.forward(h, self.params['W2'], self.params['b2']), axis=1)",
        "h = self.relu.forward(self.hidden.forward(X, self.params['W1'], self.params['b1']))\n"
        "logits = self.output.forward(h, self.params['W2'], self.params['b2'])\n"
        "loss = self.cross_entropy.forward(logits, Y)\n"
        "d_logits, _ = self.cross_entropy.backward()\n"
        "d_h, d_W2, d_b2 = self.output.backward(d_logits)\n"
        "d_a = self.relu.backward(d_h)\n"
        "_, d_W1, d_b1 = self.hidden.backward(d_a)\n"
        "self.params['W1'] = self.params['W1'] - self.learning_rate * d_W1\n"
        "self.params['b1'] = self.params['b1'] - self.learning_rate * d_b1\n"
        "self.params['W2'] = self.params['W2'] - self.learning_rate * d_W2\n"
        "self.params['b2'] = self.params['b2'] - self.learning_rate * d_b2"],
}

G = {
    "affine": ["out = np.dot(inputs, weight) + bias",
               "d_inputs = np.dot(d_out, weight.T)\nd_weight = np.dot(inputs.T, d_out)\n"
               "d_bias = np.sum(d_out, axis=0)"],
    "relu": ["out = np.maximum(inputs, 0)", "d_inputs = d_out * (inputs > 0).astype(float)"],
    "cross-entropy": [
        "shift = logits - logits.max(1, keepdims=True)\n"
        "logsum = np.log(np.exp(shift).sum(1, keepdims=True))\n"
        "probs = np.exp(shift - logsum)\n"
        "loss = -(labels * (shift - logsum)).sum() / len(logits)\nloss = float(loss)",
        "d_logits = d_out * (probs - labels)"],
    "feedforward": [
        "self.l1 = Affine()\nself.r = ReLU()\nself.l2 = Affine()\nself.ce = CategoricalCrossEntropy()",
        "W1, b1, W2, b2 = self.params['W1'], self.params['b1'], self.params['W2'], self.params['b2']\n"
        "Y_pred = softmax(self.l2.forward(self.r.forward(self.l1.forward(X, W1, b1)), W2, b2), axis=1)",
        "W1, b1, W2, b2 = self.params['W1'], self.params['b1'], self.params['W2'], self.params['b2']\n"
        "z1 = self.l1.forward(X, W1, b1)\na1 = self.r.forward(z1)\n"
        "z2 = self.l2.forward(a1, W2, b2)\nloss = self.ce.forward(z2, Y)\n"
        "dz2 = self.ce.backward()[0]\nda1, dW2, db2 = self.l2.backward(dz2)\n"
        "dz1 = self.r.backward(da1)\ndx, dW1, db1 = self.l1.backward(dz1)\n"
        "lr = self.learning_rate\n"
        "self.params.update(W1=W1 - lr * dW1, b1=b1 - lr * db1, W2=W2 - lr * dW2, b2=b2 - lr * db2)"],
}

H = {
    "affine": ["out = inputs @ weight + bias[np.newaxis, :]",
               "d_inputs = d_out @ weight.transpose()\nd_weight = inputs.transpose() @ d_out\n"
               "d_bias = d_out.sum(axis=0, keepdims=False)"],
    "relu": ["out = np.maximum(0, inputs)", "d_inputs = d_out * np.heaviside(inputs, 0)"],
    "cross-entropy": [
        "maxes = np.max(logits, axis=1, keepdims=True)\n"
        "log_norm = maxes + np.log(np.sum(np.exp(logits - maxes), axis=1, keepdims=True))\n"
        "probs = np.exp(logits - log_norm)\n"
        "picked = np.sum(labels * (logits - log_norm), axis=1)\nloss = float(-picked.mean())",
        "d_logits = d_out * (probs - labels)"],
    "feedforward": [
        "self.affine1 = Affine()\nself.relu1 = ReLU()\nself.affine2 = Affine()\n"
        "self.softmax_ce = CategoricalCrossEntropy()",
        "hidden_out = self.relu1.forward(self.affine1.forward(X, self.params['W1'], self.params['b1']))\n"
        "class_scores = self.affine2.forward(hidden_out, self.params['W2'], self.params['b2'])\n"
        "Y_pred = softmax(class_scores, axis=1)",
        "hidden_out = self.relu1.forward(self.affine1.forward(X, self.params['W1'], self.params['b1']))\n"
        "class_scores = self.affine2.forward(hidden_out, self.params['W2'], self.params['b2'])\n"
        "loss = self.softmax_ce.forward(class_scores, Y)\n"
        "grad_scores, _ = self.softmax_ce.backward()\n"
        "grad_hidden, grad_W2, grad_b2 = self.affine2.backward(grad_scores)\n"
        "grad_relu = self.relu1.backward(grad_hidden)\n"
        "_, grad_W1, grad_b1 = self.affine1.backward(grad_relu)\n"
        "for param, grad in (('W1', grad_W1), ('b1', grad_b1), ('W2', grad_W2), ('b2', grad_b2)):\n"
        "    self.params[param] -= self.learning_rate * grad"],
}

STUDENTS = {"ind_a": A, "ind_b": B, "ind_c": C, "ind_d": D, "ind_e": E, "ind_f": F, "ind_g": G,
            "ind_h": H, "copy_a1": COPY_A1, "copy_a2": COPY_A2, "copy_b": COPY_B, "copy_c": C,
            "blank_1": None, "blank_2": None, "teacher_1": "solution", "teacher_2": "solution"}
PLANTED = {frozenset(p) for p in [("ind_a", "copy_a1"), ("ind_a", "copy_a2"),
                                  ("copy_a1", "copy_a2"), ("ind_b", "copy_b"),
                                  ("ind_c", "copy_c"), ("ind_d", "ind_e")]}
INDEPENDENT = ["ind_a", "ind_b", "ind_c", "ind_d", "ind_f", "ind_g", "ind_h"]
# those who wrote the canonical np.maximum / np.dot answers and the canonical forward chain
CANONICAL = ["ind_a", "ind_d", "ind_f", "ind_g", "ind_h"]


def _fill(release: str, blocks: list[str]) -> str:
    """The release's cell with each stub replaced by the next block, indented like the stub."""
    lines, out, blocks = release.split("\n"), [], list(blocks)
    i = 0
    while i < len(lines):
        if lines[i].strip() == "# YOUR CODE HERE" and i + 1 < len(lines) \
                and lines[i + 1].strip() == "raise NotImplementedError()":
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            out += [indent + line if line else "" for line in blocks.pop(0).split("\n")]
            i += 2
        else:
            out.append(lines[i])
            i += 1
    assert not blocks, "more blocks than stubs"
    return "\n".join(out)


def _cells(nb: dict) -> dict:
    return {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}


def _notebook(release: dict, blocks: dict) -> dict:
    nb = copy.deepcopy(release)
    cells = _cells(nb)
    for grade_id, answer in blocks.items():
        cells[grade_id]["source"] = _fill("".join(cells[grade_id]["source"]), answer)
    return nb


def _copy_b(release: dict) -> dict:
    """``ind_b``'s answers, renamed, with the answer cells in another order."""
    nb = _notebook(release, COPY_B)
    answers = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    rest = [c for c in nb["cells"] if c not in answers]
    nb["cells"] = rest[:4] + answers[::-1] + rest[4:]
    return nb


def _copy_c(release: dict) -> dict:
    """``ind_c``'s answers with its helper in a cell of its own and two answers merged."""
    nb = _notebook(release, C)
    cells = _cells(nb)
    affine, relu = cells["affine"], cells["relu"]
    affine["source"] = "".join(affine["source"]) + "\n\n\n" + "".join(relu["source"])
    relu["source"] = "".join(_cells(release)["relu"]["source"])
    at = nb["cells"].index(cells["cross-entropy"])
    nb["cells"].insert(at, {"cell_type": "code", "execution_count": None, "metadata": {},
                            "outputs": [], "source": _HELPER})
    return nb


def _with_helper(release: dict, blocks: dict) -> dict:
    nb = _notebook(release, blocks)
    cell = _cells(nb)["cross-entropy"]
    cell["source"] = _HELPER + "\n\n" + "".join(cell["source"])
    return nb


def _test(grade_id, ok, check, message=None, bug=None):
    return {"grade_id": grade_id, "notebook": ASSIGNMENT, "points": 2.0 if ok else 0.0,
            "max_points": 2.0, "ok": ok, "check": check, "message": message, "bug": bug,
            "manual": False, "auto_score": 2.0 if ok else 0.0, "needs_manual_grade": False}


_CHECKS = {"test-affine": "affine", "test-relu": "relu", "test-cross-entropy": "cross_entropy",
           "test-feedforward": None}


def _record(student: str, failures: dict) -> dict:
    tests = [_test(gid, gid not in failures, check, *failures.get(gid, (None, None)))
             for gid, check in _CHECKS.items()]
    score = sum(t["points"] for t in tests)
    return {"student": student, "assignment": ASSIGNMENT, "status": "ok", "detail": "",
            "score": score, "max_score": 8.0, "duration_s": 3.0, "submission_sha256": "x",
            "graded_at": "2025-01-01T00:00:00Z", "tests": tests}


def _negated_bias(index: int, size: int, value: float):
    return (f"affine: d_bias is wrong\n  where:    d_bias[{index}] (largest difference; "
            f"{size} of {size} entries wrong)\n  expected: {value}\n  got:      {-value}\n"
            "  hint:     check the sign", None)


def _missing_n(n: int, value: float):
    return (f"cross_entropy: d_logits is wrong\n  where:    d_logits[{n % 3}, 1] (largest "
            f"difference; {n * 4} of {n * 4} entries wrong)\n  expected: {value}\n"
            f"  got:      {value * n}\n  hint:     it is N times too large: divide by the "
            "batch size N", "missing_1_over_N")


_NOT_IMPLEMENTED = ("affine: forward raised an exception\n  where:    NotImplementedError: ", None)
FAILURES = {
    "ind_d": {"test-affine": _negated_bias(2, 5, 3.25)},
    "ind_e": {"test-affine": _negated_bias(4, 7, -1.5)},
    "ind_f": {"test-cross-entropy": _missing_n(13, 0.0123)},
    "ind_g": {"test-cross-entropy": _missing_n(9, -0.031)},
    "ind_h": {"test-cross-entropy": _missing_n(21, 0.0044)},
    "blank_1": {gid: _NOT_IMPLEMENTED for gid in _CHECKS},
    "blank_2": {gid: _NOT_IMPLEMENTED for gid in _CHECKS},
}


def build(root: Path) -> Path:
    """Write the course (config, source, release), every submission and every check record."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for step in ("source", "release"):
        (root / step / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                     root / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    source, release = (json.loads((root / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
                       for step in ("source", "release"))
    for student, blocks in STUDENTS.items():
        if blocks is None:
            nb = copy.deepcopy(release)
        elif blocks == "solution":
            nb = solution_notebook(source, release)
        elif student == "copy_b":
            nb = _copy_b(release)
        elif student == "copy_c":
            nb = _copy_c(release)
        elif student == "ind_c":
            nb = _with_helper(release, blocks)
        else:
            nb = _notebook(release, blocks)
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb, indent=1))
        graded = root / "autograded" / student / ASSIGNMENT
        graded.mkdir(parents=True, exist_ok=True)
        (graded / ".result.json").write_text(json.dumps(
            _record(student, FAILURES.get(student, {})), indent=1))
    return root
