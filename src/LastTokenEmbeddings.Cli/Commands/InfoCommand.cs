using System.CommandLine;
using System.Globalization;
using LastTokenEmbeddings.Cli.Output;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary><c>lte info</c>: describes a checkpoint from config.json and the safetensors headers, without running it.</summary>
internal static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model();
        var revision = CliOptions.Revision();
        var format = CliOptions.Format();
        var dtype = CliOptions.DType();
        var command = new Command("info", "Describe and check a checkpoint (family, sizes, tokenizer, declared embedding settings, files) from its config, tokenizer and safetensors headers, without loading weights. Exits non-zero on the first problem a load would meet.");
        command.AddOptions(model, revision, dtype, format);
        command.SetAction((result, _) =>
        {
            var directory = ModelLocator.Resolve(result.GetValue(model), context, result.GetValue(revision));
            var summary = CheckpointSummary.Read(directory, new Checkpoints.ModelLoadOptions { DType = CliOptions.ParseDType(result.GetValue(dtype)!) });
            if (CliOptions.IsJson(result.GetValue(format)!))
                WriteJson(context, summary);
            else
                WriteTable(context, summary);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static void WriteJson(CliContext context, CheckpointSummary s) =>
        JsonOutput.Write(context.Out, w =>
        {
            var c = s.Config;
            w.WriteString("model", s.Directory);
            w.WriteString("modelId", Hub.HuggingFaceHub.GetDisplayModelId(s.Directory));
            w.WriteString("family", c.Family.ToString().ToLowerInvariant());
            w.WriteString("architecture", s.Architecture);
            w.WriteString("layout", s.Layout.ToString());
            w.WriteBoolean("hasLmHead", s.HasLmHead);
            w.WriteBoolean("tiedEmbeddings", s.TiedEmbeddings);
            w.WriteNumber("parameters", s.Parameters);
            w.WriteNumber("tensors", s.Tensors);
            w.WriteString("storedDType", s.StoredDType);
            if (s.ConfigDType is null) w.WriteNull("configDType"); else w.WriteString("configDType", s.ConfigDType);
            w.WriteString("computeDType", s.Validated.ComputeDType);
            w.WriteString("computeDTypeReason", s.Validated.ComputeDTypeReason);
            w.WriteNumber("layers", c.NumHiddenLayers);
            w.WriteNumber("attentionHeads", c.NumAttentionHeads);
            w.WriteNumber("keyValueHeads", c.NumKeyValueHeads);
            w.WriteNumber("headDim", c.HeadDim);
            w.WriteNumber("hiddenSize", c.HiddenSize);
            w.WriteNumber("intermediateSize", c.IntermediateSize);
            if (c.SlidingWindow is { } window) w.WriteNumber("slidingWindow", window); else w.WriteNull("slidingWindow");
            w.WriteStartArray("layerSlidingWindows");
            foreach (var layerWindow in c.LayerSlidingWindows)
            {
                if (layerWindow is { } value) w.WriteNumberValue(value); else w.WriteNullValue();
            }
            w.WriteEndArray();
            w.WriteBoolean("attentionQkvBias", c.AttentionQkvBias);
            w.WriteBoolean("attentionOutputBias", c.AttentionOutputBias);
            w.WriteBoolean("mlpBias", c.MlpBias);
            w.WriteBoolean("qkNorm", c.QkNorm);
            w.WriteString("ropeType", c.Rope.Type);
            w.WriteNumber("vocabSize", c.VocabSize);
            w.WriteNumber("maxPositionEmbeddings", c.MaxPositionEmbeddings);
            w.WriteNumber("ropeTheta", c.RopeTheta);
            w.WriteNumber("rmsNormEps", c.RmsNormEps);
            w.WriteBoolean("hasTokenizer", true);
            w.WriteString("tokenizer", s.Tokenizer.Format);
            w.WriteNumber("tokenizerVocabSize", s.Tokenizer.VocabularySize);
            if (s.Declared is { } d)
            {
                w.WriteStartObject("declared");
                w.WriteString("pooling", d.PoolingMode);
                w.WriteBoolean("normalize", d.Normalize);
                w.WriteBoolean("includePrompt", d.IncludePrompt);
                if (d.MaxSeqLength is { } maxSeq) w.WriteNumber("maxSeqLength", maxSeq); else w.WriteNull("maxSeqLength");
                if (d.DefaultPromptName is { } defaultPrompt) w.WriteString("defaultPromptName", defaultPrompt); else w.WriteNull("defaultPromptName");
                w.WriteStartObject("prompts");
                foreach (var (name, prompt) in d.Prompts)
                    w.WriteString(name, prompt);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("declared");
            }
            w.WriteStartArray("files");
            foreach (var (name, bytes) in s.Files)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteNumber("bytes", bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("totalBytes", s.TotalBytes);
        });

    private static void WriteTable(CliContext context, CheckpointSummary s)
    {
        var c = s.Config;
        string I(long v) => TextFormat.Integer(v);
        var grid = new Table().Title(Markup.Escape(Path.GetFileName(s.Directory))).AddColumn("Property").AddColumn("Value");
        void Row(string name, string value) => grid.AddRow(name, Markup.Escape(value));
        Row("Directory", s.Directory);
        Row("Family", c.Family.ToString());
        Row("Architecture", s.Architecture);
        Row("Layout", s.Layout.ToString());
        Row("LM head", s.HasLmHead ? s.TiedEmbeddings ? "yes (tied to the embeddings)" : "yes" : "no (last-token-logits pooling unavailable)");
        Row("Parameters", $"{I(s.Parameters)} ({Human(s.Parameters)})");
        Row("Stored dtype", s.StoredDType + (s.ConfigDType is null ? "" : $" (config: {s.ConfigDType})"));
        Row("Compute dtype", $"{s.Validated.ComputeDType} ({s.Validated.ComputeDTypeReason})");
        Row("Layers", I(c.NumHiddenLayers));
        Row("Attention heads", I(c.NumAttentionHeads));
        Row("KV heads", I(c.NumKeyValueHeads));
        Row("Head dim", I(c.HeadDim));
        Row("Hidden size", I(c.HiddenSize));
        Row("Intermediate size", I(c.IntermediateSize));
        Row("Sliding window", c.SlidingWindow is { } window
            ? $"{I(window)} on {c.LayerSlidingWindows.Count(w => w is not null)} of {c.NumHiddenLayers} layers"
            : "none");
        var extras = new List<string>();
        if (c.AttentionQkvBias) extras.Add(c.AttentionOutputBias ? "q/k/v/o biases" : "q/k/v biases");
        if (c.MlpBias) extras.Add("MLP biases");
        if (c.QkNorm) extras.Add("q/k norms");
        Row("Family details", extras.Count == 0 ? "none" : string.Join(", ", extras));
        Row("RoPE", c.Rope.Type == "llama3"
            ? string.Create(CultureInfo.InvariantCulture, $"llama3 (factor {c.Rope.Factor}, low {c.Rope.LowFrequencyFactor}, high {c.Rope.HighFrequencyFactor}, original {c.Rope.OriginalMaxPositionEmbeddings})")
            : "default");
        Row("Vocabulary", I(c.VocabSize));
        Row("Max positions", I(c.MaxPositionEmbeddings));
        Row("RoPE theta", c.RopeTheta.ToString("R", CultureInfo.InvariantCulture));
        Row("RMSNorm eps", c.RmsNormEps.ToString("R", CultureInfo.InvariantCulture));
        Row("Tokenizer", $"{s.Tokenizer.Format}, {I(s.Tokenizer.VocabularySize)} ids");
        if (s.Declared is { } d)
        {
            Row("Declared pooling", $"{d.PoolingMode}{(d.Normalize ? ", normalized" : "")}");
            Row("Declared prompts", d.Prompts.Count == 0 ? "none" : string.Join("; ", d.Prompts.Select(p => $"{p.Key}: \"{p.Value.Replace("\n", "\\n", StringComparison.Ordinal)}\"")));
            if (d.MaxSeqLength is { } maxSeq) Row("Declared max_seq_length", I(maxSeq));
        }
        else
        {
            Row("Declared settings", "none (no sentence-transformers files)");
        }
        Row("Tensors", I(s.Tensors));
        foreach (var (name, bytes) in s.Files)
            Row("File", $"{name}  {TextFormat.Bytes(bytes)}");
        Row("Total size", TextFormat.Bytes(s.TotalBytes));
        context.CreateOutConsole().Write(grid);
    }

    private static string Human(long count) => count switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e9:F2} B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e6:F2} M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e3:F1} K"),
        _ => count.ToString(CultureInfo.InvariantCulture),
    };
}
