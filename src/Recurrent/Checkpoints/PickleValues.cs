using System.Collections.Generic;

namespace Recurrent.Checkpoints;

/// <summary>A global a pickle names (<c>module.name</c>), resolved only against <see cref="RestrictedUnpickler"/>'s allow-list.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>A dict or OrderedDict, keys in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

/// <summary>A reference to one storage of the checkpoint (<c>persistent_id</c>): its zip entry key, element type and element count.</summary>
internal sealed record StorageRef(string Key, StorageType Type, long Count);

/// <summary>A tensor the pickle rebuilds: a strided view into a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Sizes, long[] Strides);
