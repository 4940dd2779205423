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
        var format = CliOptions.Format();
        var command = new Command("info", "Describe a checkpoint (architecture, sizes, files) from config.json and the safetensors headers, without loading weights.");
        command.AddOptions(model, format);
        command.SetAction((result, _) =>
        {
            var directory = ModelLocator.Resolve(result.GetValue(model), context);
            var summary = CheckpointSummary.Read(directory);
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
            w.WriteString("architecture", s.Architecture);
            w.WriteString("layout", s.Layout.ToString());
            w.WriteBoolean("hasLmHead", s.HasLmHead);
            w.WriteBoolean("tiedEmbeddings", s.TiedEmbeddings);
            w.WriteNumber("parameters", s.Parameters);
            w.WriteNumber("tensors", s.Tensors);
            w.WriteString("storedDType", s.StoredDType);
            if (s.ConfigDType is null) w.WriteNull("configDType"); else w.WriteString("configDType", s.ConfigDType);
            w.WriteNumber("layers", c.NumHiddenLayers);
            w.WriteNumber("attentionHeads", c.NumAttentionHeads);
            w.WriteNumber("keyValueHeads", c.NumKeyValueHeads);
            w.WriteNumber("headDim", c.HeadDim);
            w.WriteNumber("hiddenSize", c.HiddenSize);
            w.WriteNumber("intermediateSize", c.IntermediateSize);
            if (c.SlidingWindow is { } window) w.WriteNumber("slidingWindow", window); else w.WriteNull("slidingWindow");
            w.WriteNumber("vocabSize", c.VocabSize);
            w.WriteNumber("maxPositionEmbeddings", c.MaxPositionEmbeddings);
            w.WriteNumber("ropeTheta", c.RopeTheta);
            w.WriteNumber("rmsNormEps", c.RmsNormEps);
            w.WriteBoolean("hasTokenizer", s.HasTokenizer);
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
        Row("Architecture", s.Architecture);
        Row("Layout", s.Layout.ToString());
        Row("LM head", s.HasLmHead ? s.TiedEmbeddings ? "yes (tied to the embeddings)" : "yes" : "no (last-token-logits pooling unavailable)");
        Row("Parameters", $"{I(s.Parameters)} ({Human(s.Parameters)})");
        Row("Stored dtype", s.StoredDType + (s.ConfigDType is null ? "" : $" (config: {s.ConfigDType})"));
        Row("Layers", I(c.NumHiddenLayers));
        Row("Attention heads", I(c.NumAttentionHeads));
        Row("KV heads", I(c.NumKeyValueHeads));
        Row("Head dim", I(c.HeadDim));
        Row("Hidden size", I(c.HiddenSize));
        Row("Intermediate size", I(c.IntermediateSize));
        Row("Sliding window", c.SlidingWindow is { } window ? I(window) : "none");
        Row("Vocabulary", I(c.VocabSize));
        Row("Max positions", I(c.MaxPositionEmbeddings));
        Row("RoPE theta", c.RopeTheta.ToString("R", CultureInfo.InvariantCulture));
        Row("RMSNorm eps", c.RmsNormEps.ToString("R", CultureInfo.InvariantCulture));
        Row("Tokenizer", s.HasTokenizer ? "tokenizer.model" : "missing (tokenizer.model)");
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
