"""Class 5: values that mean nothing are refused instead of measured: labels, confusion counts, LENET_QUICK."""
import numpy as np
import pytest
import torch

import lenet_helpers as lh


@pytest.mark.parametrize('labels, fragment', [
    ([-1], 'Label -1 is not a class'),
    ([10], 'Label 10 is not a class'),
    (torch.tensor([3, 11]), 'Label 11 is not a class'),
    ([2.0], 'whole numbers from 0 to 9, got 2.0'),
    (torch.tensor([0.3, 0.7]), 'not scores'),
    ([True], 'got True'),
    (['3'], "got '3'"),
])
def test_get_text_labels_refuses_what_is_not_a_class(labels, fragment):
    with pytest.raises(ValueError, match=fragment):
        lh.get_text_labels(labels)


def test_get_text_labels_takes_ints_of_every_kind_and_has_the_d2l_name():
    assert lh.get_fashion_mnist_labels is lh.get_text_labels
    assert lh.get_fashion_mnist_labels(torch.tensor([9, 0])) == ['Ankle boot', 'T-shirt/top']
    assert lh.get_text_labels(np.array([1, 8])) == ['Trouser', 'Bag']
    assert lh.get_text_labels([3], classes=lh.MNIST_CLASSES) == ['3']
    with pytest.raises(ValueError, match='Label 10 is not a class: there are 10 classes'):
        lh.get_text_labels([10], classes=lh.MNIST_CLASSES)


@pytest.mark.parametrize('labels, preds, fragment', [
    ([0, 1, 2], [0, 1, 10], 'predictions hold 10'),
    ([0, 1, 2], [0, -1, 2], 'predictions hold -1'),
    ([0, 12, 2], [0, 1, 2], 'labels hold 12'),
    ([0, 1], [0.0, 1.0], 'not scores|rather than scores'),
    ([0, 1, 2], [0, 1], 'one prediction per label'),
])
def test_confusion_matrix_refuses_values_outside_the_classes(labels, preds, fragment):
    with pytest.raises(ValueError, match=fragment):
        lh.confusion_matrix(torch.tensor(labels), torch.tensor(preds))


def test_confusion_matrix_counts_the_edge_classes():
    cm = lh.confusion_matrix(torch.tensor([0, 9, 9, 3]), torch.tensor([9, 9, 0, 3]), num_classes=10)
    assert cm[0, 9] == 1 and cm[9, 9] == 1 and cm[9, 0] == 1 and cm[3, 3] == 1 and int(cm.sum()) == 4
    assert lh.confusion_matrix(torch.tensor([1, 0]), torch.tensor([1, 1]), num_classes=2).tolist() == [[0, 1], [0, 1]]


@pytest.mark.parametrize('value, expected', [
    ('1', True), ('true', True), ('TRUE', True), ('Yes', True), (' yes ', True),
    ('0', False), ('false', False), ('False', False), ('no', False), ('NO', False), ('', False), (None, False),
])
def test_quick_mode_reads_only_clear_values(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv('LENET_QUICK', raising=False)
    else:
        monkeypatch.setenv('LENET_QUICK', value)
    assert lh.quick_mode() is expected


@pytest.mark.parametrize('value', ['2', 'on', 'ture', 'quick', '-1', '1.0'])
def test_quick_mode_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv('LENET_QUICK', value)
    with pytest.raises(ValueError, match=f"LENET_QUICK={value!r} is not understood: set it to 1"):
        lh.quick_mode()
