using LastTokenEmbeddings.Pooling;
using System.Diagnostics;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>
/// Times the decoder's op classes on one batch by re-running its forward step by step with the loaded weights
/// (the same ops as Modeling/*.cs, projections through the decoder's own modules, with a Stopwatch around each class;
/// CPU ops are synchronous).
/// </summary>
internal static class Profiler
{
    public static void Run(EmbeddingModel model, int[][] texts, int repeats)
    {
        var decoder = model.Decoder;
        var config = decoder.Config;
        var weights = decoder.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var prefix = weights.ContainsKey("model.embed_tokens.weight") ? "model." : "";
        var rotary = new RotaryEmbedding(config.HeadDim, config.Rope, decoder.Model.Device);
        var times = new Dictionary<string, double>();
        var sw = new Stopwatch();
        T Time<T>(string key, Func<T> f)
        {
            sw.Restart();
            var r = f();
            times[key] = times.GetValueOrDefault(key) + sw.Elapsed.TotalSeconds;
            return r;
        }
        Tensor Norm(Tensor x, Tensor w) => Time("rmsnorm", () =>
        {
            var f = x.to(ScalarType.Float32);
            var normed = f * rsqrt(f.pow(SafeScalars.Of(2)).mean([-1L], keepdim: true).add(SafeScalars.Of(config.RmsNormEps), SafeScalars.Of(1)));
            return w * normed.to(w.dtype);
        });
        // The decoder's own projection modules, so packed float32 weights (Native/PackedSgemm.cs) are timed as they run.
        var projections = decoder.named_modules().Where(m => m.module is ProjectionLinear).ToDictionary(m => m.name + ".weight", m => (ProjectionLinear)m.module);
        Tensor Lin(Tensor x, string name) => Time("matmul (linear)", () => projections[name].forward(x));

        var total = Stopwatch.StartNew();
        for (var rep = 0; rep < repeats; rep++)
        {
            using var inference = inference_mode();
            using var scope = NewDisposeScope();
            var length = texts.Max(t => t.Length);
            var flat = new long[texts.Length * length];
            var flatMask = new bool[texts.Length * length];
            for (var r = 0; r < texts.Length; r++)
                for (var t = 0; t < texts[r].Length; t++) { flat[r * length + t] = texts[r][t]; flatMask[r * length + t] = true; }
            var ids = tensor(flat, [texts.Length, length]);
            var padding = tensor(flatMask, [texts.Length, length]);
            var hidden = Time("embedding+rotary tables+mask", () => weights[prefix + "embed_tokens.weight"].index_select(0, ids.reshape(-1)).reshape(ids.shape[0], ids.shape[1], -1).to(decoder.Model.DType));
            var positions = padding.to(ScalarType.Int64).cumsum(1).sub_(SafeScalars.OfInteger(1)).clamp_min_(SafeScalars.OfInteger(0));
            var (cos, sin) = Time("embedding+rotary tables+mask", () => rotary.Forward(positions, decoder.Model.DType));
            var needsMask = (config.SlidingWindow is { } w && length > w) || !padding.all().item<bool>();
            var mask = needsMask ? Time("embedding+rotary tables+mask", () => AttentionMask.Build(padding, config.SlidingWindow)) : null;
            long b = texts.Length, heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads, hd = config.HeadDim;
            for (var i = 0; i < config.NumHiddenLayers; i++)
            {
                var p = $"{prefix}layers.{i}.";
                var x = Norm(hidden, weights[p + "input_layernorm.weight"]);
                var q = Lin(x, p + "self_attn.q_proj.weight");
                var k = Lin(x, p + "self_attn.k_proj.weight");
                var v = Lin(x, p + "self_attn.v_proj.weight");
                (q, k, v) = Time("reshape/transpose", () => (q.view(b, length, heads, hd).transpose(1, 2), k.view(b, length, kvHeads, hd).transpose(1, 2), v.view(b, length, kvHeads, hd).transpose(1, 2)));
                q = Time("rotary apply", () => RotaryEmbedding.Apply(q, cos, sin));
                k = Time("rotary apply", () => RotaryEmbedding.Apply(k, cos, sin));
                if (heads != kvHeads)
                {
                    k = Time("GQA repeat_interleave", () => k.repeat_interleave(heads / kvHeads, dim: 1));
                    v = Time("GQA repeat_interleave", () => v.repeat_interleave(heads / kvHeads, dim: 1));
                }
                var att = Time(mask is null ? "SDPA (causal)" : "SDPA (masked)", () => mask is null
                    ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
                    : nn.functional.scaled_dot_product_attention(q, k, v, mask));
                var merged = Time("reshape/transpose", () => att.transpose(1, 2).reshape(b, length, heads * hd));
                var o = Lin(merged, p + "self_attn.o_proj.weight");
                hidden = Time("residual add", () => hidden.add(o, SafeScalars.Of(1)));
                x = Norm(hidden, weights[p + "post_attention_layernorm.weight"]);
                var gate = Lin(x, p + "mlp.gate_proj.weight");
                var up = Lin(x, p + "mlp.up_proj.weight");
                var gated = Time("silu*mul", () => nn.functional.silu(gate).mul_(up));
                var down = Lin(gated, p + "mlp.down_proj.weight");
                hidden = Time("residual add", () => hidden.add(down, SafeScalars.Of(1)));
            }
            hidden = Norm(hidden, weights[prefix + "norm.weight"]);
        }
        var sum = times.Values.Sum();
        Console.WriteLine($"| op class ({texts.Length}x{texts.Max(t => t.Length)}, {config.NumHiddenLayers} layers, {repeats} runs) | s/run | share |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var (key, seconds) in times.OrderByDescending(kv => kv.Value))
            Console.WriteLine($"| {key} | {seconds / repeats:F4} | {100 * seconds / sum:F1}% |");
        Console.WriteLine($"| total (timed ops / wall) | {sum / repeats:F4} / {total.Elapsed.TotalSeconds / repeats:F4} | |");
    }
}
